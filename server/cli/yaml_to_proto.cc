#include "server/cli/yaml_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace kdnas::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Where(const std::string& path, const YAML::Node& node) {
  std::string where = path.empty() ? "<top>" : path;
  if (node.Mark().line >= 0) where += " (line " + std::to_string(node.Mark().line + 1) + ")";
  return where;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The prefix shared by every value name of an enum, e.g. "DIRECTION_".
std::string EnumPrefix(const EnumDescriptor* e) {
  std::string name = e->name();
  std::string prefix;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i > 0 && std::isupper(static_cast<unsigned char>(name[i]))) prefix += '_';
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
  }
  return prefix + "_";
}

const EnumValueDescriptor* FindEnumValue(const EnumDescriptor* e, const std::string& text) {
  std::string wanted = Upper(text);
  for (char& c : wanted) {
    if (c == ':' || c == '-' || c == ' ') c = '_';
  }
  if (const auto* v = e->FindValueByName(wanted)) return v;
  if (const auto* v = e->FindValueByName(EnumPrefix(e) + wanted)) return v;
  return nullptr;
}

std::string EnumChoices(const EnumDescriptor* e) {
  std::string prefix = EnumPrefix(e);
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    std::string name = e->value(i)->name();
    if (name.find("UNSPECIFIED") != std::string::npos) continue;
    if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (out.empty() ? "" : ", ") + lower;
  }
  return out;
}

const FieldDescriptor* FindField(const Descriptor* d, const std::string& key) {
  if (const auto* f = d->FindFieldByName(key)) return f;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) return d->field(i);
  }
  return nullptr;
}

Status ParseMessage(const YAML::Node& node, const std::string& path, Message* message);

Status ParseInteger(const YAML::Node& node, const std::string& path, bool is_unsigned,
                    long double lo, long double hi, long double* out) {
  std::string text = node.Scalar();
  char* end = nullptr;
  errno = 0;
  long double v = is_unsigned ? static_cast<long double>(std::strtoull(text.c_str(), &end, 0))
                              : static_cast<long double>(std::strtoll(text.c_str(), &end, 0));
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      (is_unsigned && !text.empty() && text[0] == '-')) {
    return InvalidArgument(Where(path, node) + ": expected an integer, got '" + text + "'");
  }
  if (v < lo || v > hi) return InvalidArgument(Where(path, node) + ": " + text + " is out of range");
  *out = v;
  return Status::Ok();
}

Status ParseScalar(const YAML::Node& node, const std::string& path, Message* message,
                   const FieldDescriptor* field) {
  if (!node.IsScalar()) {
    return InvalidArgument(Where(path, node) + ": expected a single value");
  }
  const Reflection* r = message->GetReflection();
  const bool repeated = field->is_repeated();
  const std::string text = node.Scalar();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      long double v = 0;
      auto t = field->cpp_type();
      long double lo = t == FieldDescriptor::CPPTYPE_INT32   ? std::numeric_limits<int32_t>::min()
                       : t == FieldDescriptor::CPPTYPE_INT64 ? std::numeric_limits<int64_t>::min()
                                                             : 0;
      long double hi = t == FieldDescriptor::CPPTYPE_INT32    ? std::numeric_limits<int32_t>::max()
                       : t == FieldDescriptor::CPPTYPE_INT64  ? std::numeric_limits<int64_t>::max()
                       : t == FieldDescriptor::CPPTYPE_UINT32 ? std::numeric_limits<uint32_t>::max()
                                                              : std::numeric_limits<uint64_t>::max();
      bool is_unsigned = t == FieldDescriptor::CPPTYPE_UINT32 || t == FieldDescriptor::CPPTYPE_UINT64;
      KDNAS_RETURN_IF_ERROR(ParseInteger(node, path, is_unsigned, lo, hi, &v));
      if (t == FieldDescriptor::CPPTYPE_INT32) {
        repeated ? r->AddInt32(message, field, static_cast<int32_t>(v))
                 : r->SetInt32(message, field, static_cast<int32_t>(v));
      } else if (t == FieldDescriptor::CPPTYPE_INT64) {
        repeated ? r->AddInt64(message, field, static_cast<int64_t>(v))
                 : r->SetInt64(message, field, static_cast<int64_t>(v));
      } else if (t == FieldDescriptor::CPPTYPE_UINT32) {
        repeated ? r->AddUInt32(message, field, static_cast<uint32_t>(v))
                 : r->SetUInt32(message, field, static_cast<uint32_t>(v));
      } else {
        repeated ? r->AddUInt64(message, field, static_cast<uint64_t>(v))
                 : r->SetUInt64(message, field, static_cast<uint64_t>(v));
      }
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == ".nan") v = std::nan("");
      else if (lower == ".inf" || lower == "+.inf") v = INFINITY;
      else if (lower == "-.inf") v = -INFINITY;
      else if (text.empty() || end != text.c_str() + text.size()) {
        return InvalidArgument(Where(path, node) + ": expected a number, got '" + text + "'");
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        repeated ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      } else {
        repeated ? r->AddFloat(message, field, static_cast<float>(v))
                 : r->SetFloat(message, field, static_cast<float>(v));
      }
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      std::string l = Upper(text);
      bool v;
      if (l == "TRUE" || l == "YES" || l == "ON") v = true;
      else if (l == "FALSE" || l == "NO" || l == "OFF") v = false;
      else return InvalidArgument(Where(path, node) + ": expected true or false, got '" + text + "'");
      repeated ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = FindEnumValue(field->enum_type(), text);
      if (v == nullptr) {
        return InvalidArgument(Where(path, node) + ": unknown value '" + text + "' (one of " +
                               EnumChoices(field->enum_type()) + ")");
      }
      repeated ? r->AddEnum(message, field, v) : r->SetEnum(message, field, v);
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? r->AddString(message, field, text) : r->SetString(message, field, text);
      return Status::Ok();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return InvalidArgument(Where(path, node) + ": unsupported field type");
}

Status ParseField(const YAML::Node& value, const std::string& path, Message* message,
                  const FieldDescriptor* field) {
  const Reflection* r = message->GetReflection();
  if (field->is_map()) {
    if (!value.IsMap()) return InvalidArgument(Where(path, value) + ": expected a mapping");
    for (const auto& kv : value) {
      Message* entry = r->AddMessage(message, field);
      const Descriptor* d = entry->GetDescriptor();
      YAML::Node key = kv.first;
      KDNAS_RETURN_IF_ERROR(ParseScalar(key, path, entry, d->FindFieldByName("key")));
      std::string child = path + "." + kv.first.Scalar();
      const FieldDescriptor* vf = d->FindFieldByName("value");
      if (vf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        KDNAS_RETURN_IF_ERROR(ParseMessage(kv.second, child, r->MutableMessage(entry, vf)));
      } else {
        KDNAS_RETURN_IF_ERROR(ParseScalar(kv.second, child, entry, vf));
      }
    }
    return Status::Ok();
  }
  if (field->is_repeated()) {
    if (!value.IsSequence()) return InvalidArgument(Where(path, value) + ": expected a list");
    for (size_t i = 0; i < value.size(); ++i) {
      std::string item = path + "[" + std::to_string(i) + "]";
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        KDNAS_RETURN_IF_ERROR(ParseMessage(value[i], item, r->AddMessage(message, field)));
      } else {
        KDNAS_RETURN_IF_ERROR(ParseScalar(value[i], item, message, field));
      }
    }
    return Status::Ok();
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return ParseMessage(value, path, r->MutableMessage(message, field));
  }
  return ParseScalar(value, path, message, field);
}

Status ParseMessage(const YAML::Node& node, const std::string& path, Message* message) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return InvalidArgument(Where(path, node) + ": expected a mapping of fields");
  const Descriptor* d = message->GetDescriptor();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    std::string child = path.empty() ? key : path + "." + key;
    const FieldDescriptor* field = FindField(d, key);
    if (field == nullptr) {
      return InvalidArgument(Where(child, kv.first) + ": unknown field '" + key + "' of " +
                             d->name());
    }
    if (const auto* oneof = field->real_containing_oneof()) {
      if (message->GetReflection()->HasOneof(*message, oneof)) {
        return InvalidArgument(Where(child, kv.first) + ": only one of '" + oneof->name() +
                               "' may be set");
      }
    }
    KDNAS_RETURN_IF_ERROR(ParseField(kv.second, child, message, field));
  }
  return Status::Ok();
}

}  // namespace

Status ParseYamlMessage(const std::string& text, const std::string& source, Message* message) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Status s = ParseMessage(root, "", message);
  if (!s.ok()) return InvalidArgument(source + ": " + s.message());
  return Status::Ok();
}

Status LoadYamlMessageFile(const std::string& path, Message* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseYamlMessage(text.str(), path, message);
}

}  // namespace kdnas::cli
