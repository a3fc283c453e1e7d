#include "formats/hf_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace kdnas {
namespace {

using nlohmann::json;

// Larger than any released model's dimension, small enough that products of
// two stay far from int64 overflow in the shape checks.
constexpr int64_t kMaxDimension = int64_t{1} << 24;

Status Refuse(const std::string& key, const std::string& why) {
  return InvalidArgument("config.json: " + key + ": " + why);
}

std::string Shown(const json& value) { return value.dump(); }

bool Present(const json& config, const std::string& key) {
  auto it = config.find(key);
  return it != config.end() && !it->is_null();
}

// A positive integer (an integral double such as 576.0 is accepted, as
// Python's json writes what it was given).
StatusOr<int64_t> PositiveInt(const json& config, const std::string& key,
                              std::optional<int64_t> fallback = std::nullopt) {
  if (!Present(config, key)) {
    if (fallback) return *fallback;
    return Refuse(key, "missing");
  }
  const json& v = config.at(key);
  double d = 0;
  if (v.is_number_integer()) {
    d = static_cast<double>(v.get<int64_t>());
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
    d = v.get<double>();
  } else {
    return Refuse(key, Shown(v) + " is not an integer");
  }
  if (d < 1 || d > static_cast<double>(kMaxDimension)) {
    return Refuse(key, Shown(v) + " is outside 1.." + std::to_string(kMaxDimension));
  }
  return static_cast<int64_t>(d);
}

StatusOr<double> PositiveNumber(const json& config, const std::string& key,
                                std::optional<double> fallback = std::nullopt) {
  if (!Present(config, key)) {
    if (fallback) return *fallback;
    return Refuse(key, "missing");
  }
  const json& v = config.at(key);
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
    return Refuse(key, Shown(v) + " is not a positive number");
  }
  return v.get<double>();
}

StatusOr<bool> Bool(const json& config, const std::string& key, bool fallback) {
  if (!Present(config, key)) return fallback;
  const json& v = config.at(key);
  if (!v.is_boolean()) return Refuse(key, Shown(v) + " is not true or false");
  return v.get<bool>();
}

StatusOr<std::string> String(const json& config, const std::string& key,
                             const std::string& fallback) {
  if (!Present(config, key)) return fallback;
  const json& v = config.at(key);
  if (!v.is_string()) return Refuse(key, Shown(v) + " is not a string");
  return v.get<std::string>();
}

// A key whose only supported value is `expected` (when present).
Status Require(const json& config, const std::string& key, const json& expected,
               const std::string& why) {
  if (Present(config, key) && config.at(key) != expected) {
    return Refuse(key, Shown(config.at(key)) + " is not supported: " + why);
  }
  return Status::Ok();
}

StatusOr<HfFamily> FamilyOf(const json& config, std::string* architecture) {
  struct Known {
    const char* architecture;
    const char* model_type;
    HfFamily family;
  };
  static constexpr Known kKnown[] = {{"LlamaForCausalLM", "llama", HfFamily::kLlama},
                                     {"Qwen2ForCausalLM", "qwen2", HfFamily::kQwen2},
                                     {"GPT2LMHeadModel", "gpt2", HfFamily::kGpt2}};
  const std::string supported =
      " is not supported (kdnas imports LlamaForCausalLM, Qwen2ForCausalLM and GPT2LMHeadModel)";
  KDNAS_ASSIGN_OR_RETURN(std::string model_type, String(config, "model_type", ""));
  if (Present(config, "architectures")) {
    const json& list = config.at("architectures");
    if (!list.is_array() || list.size() != 1 || !list[0].is_string()) {
      return Refuse("architectures", Shown(list) + " is not a list of one architecture name");
    }
    *architecture = list[0].get<std::string>();
    for (const Known& k : kKnown) {
      if (*architecture != k.architecture) continue;
      if (!model_type.empty() && model_type != k.model_type) {
        return Refuse("model_type", "\"" + model_type + "\" does not match architectures " +
                                        *architecture + " (expected \"" + k.model_type + "\")");
      }
      return k.family;
    }
    return Refuse("architectures", *architecture + supported);
  }
  for (const Known& k : kKnown) {
    if (model_type == k.model_type) {
      *architecture = k.architecture;
      return k.family;
    }
  }
  if (model_type.empty()) return Refuse("architectures", "missing (and no model_type)");
  return Refuse("model_type", "\"" + model_type + "\"" + supported);
}

// The rope type and its parameters from `scaling` (rope_scaling, or the
// newer rope_parameters, which also carries rope_theta). `key` names it.
Status ParseRope(const json& scaling, const std::string& key, Rope* rope) {
  if (!scaling.is_object()) return Refuse(key, Shown(scaling) + " is not an object");
  std::string type = "default";
  for (const char* spelling : {"rope_type", "type"}) {
    if (Present(scaling, spelling)) {
      if (!scaling.at(spelling).is_string()) {
        return Refuse(key + "." + spelling, Shown(scaling.at(spelling)) + " is not a string");
      }
      type = scaling.at(spelling).get<std::string>();
      break;
    }
  }
  if (Present(scaling, "rope_theta")) {
    KDNAS_ASSIGN_OR_RETURN(rope->theta, PositiveNumber(scaling, "rope_theta"));
  }
  auto field = [&](const char* name) -> StatusOr<double> {
    auto v = PositiveNumber(scaling, name);
    if (!v.ok()) return Refuse(key + "." + name, "missing or not a positive number");
    return *v;
  };
  if (type == "default") {
    rope->scaling = Rope::Scaling::kNone;
  } else if (type == "linear") {
    rope->scaling = Rope::Scaling::kLinear;
    KDNAS_ASSIGN_OR_RETURN(rope->factor, field("factor"));
  } else if (type == "llama3") {
    rope->scaling = Rope::Scaling::kLlama3;
    KDNAS_ASSIGN_OR_RETURN(rope->factor, field("factor"));
    KDNAS_ASSIGN_OR_RETURN(rope->low_freq_factor, field("low_freq_factor"));
    KDNAS_ASSIGN_OR_RETURN(rope->high_freq_factor, field("high_freq_factor"));
    KDNAS_ASSIGN_OR_RETURN(double original, field("original_max_position_embeddings"));
    rope->original_max_position_embeddings = static_cast<int64_t>(original);
    if (rope->high_freq_factor <= rope->low_freq_factor) {
      return Refuse(key + ".high_freq_factor", "must be larger than low_freq_factor");
    }
  } else {
    return Refuse(key + ".rope_type", "\"" + type +
                                          "\" is not supported (kdnas runs default, linear and "
                                          "llama3 rotary embeddings)");
  }
  if (Present(scaling, "partial_rotary_factor") && scaling.at("partial_rotary_factor") != 1 &&
      scaling.at("partial_rotary_factor") != 1.0) {
    return Refuse(key + ".partial_rotary_factor", "only 1 (rotary on the whole head) is supported");
  }
  return Status::Ok();
}

Status ParseLlamaLike(const json& c, HfModelConfig* m) {
  const bool qwen = m->family == HfFamily::kQwen2;
  KDNAS_ASSIGN_OR_RETURN(m->hidden_size, PositiveInt(c, "hidden_size"));
  KDNAS_ASSIGN_OR_RETURN(m->num_layers, PositiveInt(c, "num_hidden_layers"));
  KDNAS_ASSIGN_OR_RETURN(m->num_heads, PositiveInt(c, "num_attention_heads"));
  KDNAS_ASSIGN_OR_RETURN(m->num_kv_heads, PositiveInt(c, "num_key_value_heads", m->num_heads));
  KDNAS_ASSIGN_OR_RETURN(m->intermediate_size, PositiveInt(c, "intermediate_size"));
  KDNAS_ASSIGN_OR_RETURN(m->max_position_embeddings,
                         PositiveInt(c, "max_position_embeddings", qwen ? 32768 : 2048));
  KDNAS_ASSIGN_OR_RETURN(m->norm_eps, PositiveNumber(c, "rms_norm_eps", 1e-6));
  KDNAS_ASSIGN_OR_RETURN(m->tie_word_embeddings, Bool(c, "tie_word_embeddings", false));
  if (!Present(c, "head_dim") && m->hidden_size % m->num_heads != 0) {
    return Refuse("num_attention_heads", std::to_string(m->num_heads) +
                                             " does not divide hidden_size " +
                                             std::to_string(m->hidden_size) + " (and no head_dim)");
  }
  KDNAS_ASSIGN_OR_RETURN(m->head_dim, PositiveInt(c, "head_dim", m->hidden_size / m->num_heads));
  if (m->head_dim % 2 != 0) return Refuse("head_dim", "must be even for rotary positions");
  if (m->num_heads % m->num_kv_heads != 0) {
    return Refuse("num_key_value_heads", std::to_string(m->num_kv_heads) +
                                             " does not divide num_attention_heads " +
                                             std::to_string(m->num_heads));
  }
  KDNAS_RETURN_IF_ERROR(Require(c, "hidden_act", "silu", "kdnas runs SwiGLU with silu"));
  KDNAS_RETURN_IF_ERROR(Require(c, "mlp_bias", false, "kdnas runs MLPs without biases"));
  if (qwen) {
    m->qkv_bias = true;
    KDNAS_RETURN_IF_ERROR(
        Require(c, "use_sliding_window", false, "kdnas runs full attention in every layer"));
  } else {
    KDNAS_RETURN_IF_ERROR(
        Require(c, "attention_bias", false, "kdnas runs Llama attention without biases"));
  }
  KDNAS_RETURN_IF_ERROR(Require(c, "partial_rotary_factor", 1, "only 1 is supported"));
  KDNAS_ASSIGN_OR_RETURN(m->rope.theta, PositiveNumber(c, "rope_theta", 10000.0));
  if (Present(c, "rope_parameters")) {
    KDNAS_RETURN_IF_ERROR(ParseRope(c.at("rope_parameters"), "rope_parameters", &m->rope));
  } else if (Present(c, "rope_scaling")) {
    KDNAS_RETURN_IF_ERROR(ParseRope(c.at("rope_scaling"), "rope_scaling", &m->rope));
  }
  return Status::Ok();
}

Status ParseGpt2(const json& c, HfModelConfig* m) {
  KDNAS_ASSIGN_OR_RETURN(m->hidden_size, PositiveInt(c, "n_embd"));
  KDNAS_ASSIGN_OR_RETURN(m->num_layers, PositiveInt(c, "n_layer"));
  KDNAS_ASSIGN_OR_RETURN(m->num_heads, PositiveInt(c, "n_head"));
  if (m->hidden_size % m->num_heads != 0) {
    return Refuse("n_head", std::to_string(m->num_heads) + " does not divide n_embd " +
                                std::to_string(m->hidden_size));
  }
  m->num_kv_heads = m->num_heads;
  m->head_dim = m->hidden_size / m->num_heads;
  KDNAS_ASSIGN_OR_RETURN(m->intermediate_size, PositiveInt(c, "n_inner", 4 * m->hidden_size));
  KDNAS_ASSIGN_OR_RETURN(m->max_position_embeddings, PositiveInt(c, "n_positions", 1024));
  KDNAS_ASSIGN_OR_RETURN(m->norm_eps, PositiveNumber(c, "layer_norm_epsilon", 1e-5));
  KDNAS_ASSIGN_OR_RETURN(m->tie_word_embeddings, Bool(c, "tie_word_embeddings", true));
  m->qkv_bias = true;
  KDNAS_ASSIGN_OR_RETURN(std::string activation, String(c, "activation_function", "gelu_new"));
  if (activation != "gelu_new" && activation != "gelu_pytorch_tanh") {
    return Refuse("activation_function", "\"" + activation +
                                             "\" is not supported (kdnas runs gelu_new, the tanh "
                                             "approximation)");
  }
  KDNAS_RETURN_IF_ERROR(Require(c, "scale_attn_weights", true, "kdnas scales by 1/sqrt(head)"));
  KDNAS_RETURN_IF_ERROR(Require(c, "scale_attn_by_inverse_layer_idx", false,
                                "kdnas does not scale attention by layer"));
  KDNAS_RETURN_IF_ERROR(Require(c, "add_cross_attention", false, "a decoder-only model"));
  return Status::Ok();
}

Status ParseTokenIds(const json& c, HfModelConfig* m) {
  if (Present(c, "bos_token_id")) {
    const json& v = c.at("bos_token_id");
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return Refuse("bos_token_id", Shown(v) + " is not a token id");
    }
    m->bos_token_id = v.get<int64_t>();
  }
  if (Present(c, "eos_token_id")) {
    const json& v = c.at("eos_token_id");
    const json list = v.is_array() ? v : json::array({v});
    for (const json& id : list) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0) {
        return Refuse("eos_token_id", Shown(v) + " is not a token id or a list of them");
      }
      m->eos_token_ids.push_back(id.get<int64_t>());
    }
  }
  return Status::Ok();
}

}  // namespace

const char* FamilyName(HfFamily family) {
  switch (family) {
    case HfFamily::kLlama:
      return "llama";
    case HfFamily::kQwen2:
      return "qwen2";
    case HfFamily::kGpt2:
      return "gpt2";
  }
  return "?";
}

StatusOr<HfModelConfig> ParseHfConfig(std::string_view config_json) {
  json c = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (c.is_discarded()) return InvalidArgument("config.json: not valid JSON");
  if (!c.is_object()) return InvalidArgument("config.json: not a JSON object");
  HfModelConfig m;
  KDNAS_ASSIGN_OR_RETURN(m.family, FamilyOf(c, &m.architecture));
  KDNAS_ASSIGN_OR_RETURN(m.vocab_size, PositiveInt(c, "vocab_size"));
  if (m.family == HfFamily::kGpt2) {
    KDNAS_RETURN_IF_ERROR(ParseGpt2(c, &m));
  } else {
    KDNAS_RETURN_IF_ERROR(ParseLlamaLike(c, &m));
  }
  // "dtype" is transformers 5's spelling of "torch_dtype".
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (Present(c, key) && c.at(key).is_string()) {
      m.torch_dtype = c.at(key).get<std::string>();
      break;
    }
  }
  KDNAS_RETURN_IF_ERROR(ParseTokenIds(c, &m));
  return m;
}

std::vector<double> RopeInverseFrequencies(const HfModelConfig& config) {
  return RopeInverseFrequencies(config.rope, config.head_dim);
}

}  // namespace kdnas
