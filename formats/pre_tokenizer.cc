#include "formats/pre_tokenizer.h"

#include <string>

#include "formats/byte_level.h"

namespace kdnas {
namespace {

constexpr int kMaxSequenceDepth = 8;
// Steps run recursively, one frame each.
constexpr size_t kMaxSteps = 64;

StatusOr<SplitBehavior> ParseBehavior(const nlohmann::json& obj, const JsonPath& at) {
  KDNAS_ASSIGN_OR_RETURN(std::string name, GetString(obj, "behavior", at));
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return at.Key("behavior").Error("\"" + name + "\" is not a split behavior");
}

}  // namespace

std::vector<std::pair<size_t, size_t>> SplitPieces(
    size_t text_size, const std::vector<std::pair<size_t, size_t>>& found, SplitBehavior behavior,
    bool invert) {
  // Matches and the stretches between them, in order: (start, end, is_match).
  struct Part {
    size_t start, end;
    bool match;
  };
  std::vector<Part> parts;
  if (text_size == 0) {
    parts.push_back({0, 0, false});
  } else {
    size_t prev = 0;
    for (const auto& [start, end] : found) {
      if (prev != start) parts.push_back({prev, start, false});
      parts.push_back({start, end, true});
      prev = end;
    }
    if (prev != text_size) parts.push_back({prev, text_size, false});
  }
  if (invert) {
    for (Part& p : parts) p.match = !p.match;
  }

  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Part& p : parts) out.emplace_back(p.start, p.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.match) out.emplace_back(p.start, p.end);
      }
      break;
    case SplitBehavior::kContiguous:
      for (const Part& p : parts) {
        if (p.match == previous_match && !out.empty()) {
          out.back().second = p.end;
        } else {
          out.emplace_back(p.start, p.end);
        }
        previous_match = p.match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Part& p : parts) {
        if (p.match && !previous_match && !out.empty()) {
          out.back().second = p.end;
        } else {
          out.emplace_back(p.start, p.end);
        }
        previous_match = p.match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous_match && !out.empty()) {
          out.back().first = it->start;
        } else {
          out.emplace_back(it->start, it->end);
        }
        previous_match = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  return out;
}

StatusOr<PreTokenizer> PreTokenizer::FromJson(const nlohmann::json& value, const JsonPath& at) {
  PreTokenizer pre;
  if (!value.is_null()) KDNAS_RETURN_IF_ERROR(AddSteps(value, at, 0, &pre.steps_));
  return pre;
}

StatusOr<PreTokenizer> PreTokenizer::ByteLevel(bool add_prefix_space) {
  PreTokenizer pre;
  Step step;
  step.kind = Step::Kind::kByteLevel;
  step.add_prefix_space = add_prefix_space;
  KDNAS_ASSIGN_OR_RETURN(step.regex, Regex::FromOniguruma(kGpt2Pattern));
  pre.steps_.push_back(std::move(step));
  return pre;
}

Status PreTokenizer::AddSteps(const nlohmann::json& value, const JsonPath& at, int depth,
                              std::vector<Step>* steps) {
  if (!value.is_object()) return at.Error("is not an object");
  if (steps->size() >= kMaxSteps) return at.Error("makes more than 64 pre-tokenizer steps");
  KDNAS_ASSIGN_OR_RETURN(std::string type, GetString(value, "type", at));
  if (type == "Sequence") {
    if (depth >= kMaxSequenceDepth) return at.Error("nests Sequences too deeply");
    const nlohmann::json* list = Find(value, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return at.Key("pretokenizers").Error("is not an array");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      KDNAS_RETURN_IF_ERROR(
          AddSteps((*list)[i], at.Key("pretokenizers").Index(i), depth + 1, steps));
    }
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    Step step;
    step.kind = Step::Kind::kByteLevel;
    KDNAS_ASSIGN_OR_RETURN(std::optional<bool> prefix,
                           GetOptionalBool(value, "add_prefix_space", at));
    if (!prefix) return at.Key("add_prefix_space").Error("is missing");
    KDNAS_ASSIGN_OR_RETURN(std::optional<bool> use_regex, GetOptionalBool(value, "use_regex", at));
    step.add_prefix_space = *prefix;
    if (use_regex.value_or(true)) {
      KDNAS_ASSIGN_OR_RETURN(step.regex, Regex::FromOniguruma(kGpt2Pattern));
    }
    steps->push_back(std::move(step));
    return Status::Ok();
  }
  if (type == "Split") {
    Step step;
    step.kind = Step::Kind::kSplit;
    const JsonPath pattern_at = at.Key("pattern");
    const nlohmann::json* pattern = Find(value, "pattern");
    if (pattern == nullptr || !pattern->is_object() || pattern->size() != 1) {
      return pattern_at.Error("is not {\"Regex\": ...} or {\"String\": ...}");
    }
    if (const nlohmann::json* re = Find(*pattern, "Regex")) {
      if (!re->is_string()) return pattern_at.Key("Regex").Error("is not a string");
      StatusOr<Regex> regex = Regex::FromOniguruma(re->get<std::string>());
      if (!regex.ok()) return pattern_at.Key("Regex").Error(regex.status().message());
      step.regex = std::move(*regex);
    } else if (const nlohmann::json* s = Find(*pattern, "String")) {
      if (!s->is_string()) return pattern_at.Key("String").Error("is not a string");
      KDNAS_ASSIGN_OR_RETURN(step.regex, Regex::FromLiteral(s->get<std::string>()));
    } else {
      return pattern_at.Error("is not {\"Regex\": ...} or {\"String\": ...}");
    }
    KDNAS_ASSIGN_OR_RETURN(step.behavior, ParseBehavior(value, at));
    KDNAS_ASSIGN_OR_RETURN(std::optional<bool> invert, GetOptionalBool(value, "invert", at));
    step.invert = invert.value_or(false);
    steps->push_back(std::move(step));
    return Status::Ok();
  }
  if (type == "Digits") {
    Step step;
    step.kind = Step::Kind::kDigits;
    KDNAS_ASSIGN_OR_RETURN(std::optional<bool> individual,
                           GetOptionalBool(value, "individual_digits", at));
    step.behavior =
        individual.value_or(false) ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
    // Rust's char::is_numeric: the N categories, one character a match.
    KDNAS_ASSIGN_OR_RETURN(step.regex, Regex::FromOniguruma(R"(\p{N})"));
    steps->push_back(std::move(step));
    return Status::Ok();
  }
  return at.Key("type").Error("\"" + type +
                              "\" is not supported (kdnas reads ByteLevel, Split, Digits and "
                              "Sequence pre-tokenizers)");
}

bool PreTokenizer::byte_level() const {
  for (const Step& s : steps_) {
    if (s.kind == Step::Kind::kByteLevel) return true;
  }
  return false;
}

Status PreTokenizer::Run(std::string_view text, const Emit& emit) const {
  if (text.empty()) return Status::Ok();
  return RunFrom(0, text, emit);
}

Status PreTokenizer::RunFrom(size_t index, std::string_view piece, const Emit& emit) const {
  if (index == steps_.size()) {
    emit(piece);
    return Status::Ok();
  }
  const Step& step = steps_[index];
  std::vector<std::pair<size_t, size_t>> found;
  if (step.kind == Step::Kind::kByteLevel) {
    std::string prefixed;
    std::string_view text = piece;
    if (step.add_prefix_space && text.front() != ' ') {
      prefixed.reserve(piece.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(piece);
      text = prefixed;
    }
    std::string mapped;
    const auto map_and_go_on = [&](std::string_view sub) -> Status {
      mapped.clear();
      AppendByteLevel(sub, &mapped);
      return RunFrom(index + 1, mapped, emit);
    };
    if (!step.regex) return map_and_go_on(text);
    KDNAS_RETURN_IF_ERROR(step.regex->Find(text, &found));
    for (const auto& [start, end] :
         SplitPieces(text.size(), found, SplitBehavior::kIsolated, false)) {
      if (start != end) KDNAS_RETURN_IF_ERROR(map_and_go_on(text.substr(start, end - start)));
    }
    return Status::Ok();
  }
  KDNAS_RETURN_IF_ERROR(step.regex->Find(piece, &found));
  for (const auto& [start, end] : SplitPieces(piece.size(), found, step.behavior, step.invert)) {
    if (start != end)
      KDNAS_RETURN_IF_ERROR(RunFrom(index + 1, piece.substr(start, end - start), emit));
  }
  return Status::Ok();
}

}  // namespace kdnas
