#include "osrf/codec.h"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>

#include "common/json.h"

namespace wsgate::osrf {
namespace {

// ordered_json keeps the key order of what it parsed and of what is
// inserted, which the class hints and the C key order need.
using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 5> kTypeNames = {"CONNECT", "REQUEST", "RESULT", "STATUS",
                                                        "DISCONNECT"};

// Compact, ASCII-only (\u escapes), as C's jsonObjectToJSON writes.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', true, Json::error_handler_t::replace);
}

// True when no array or object in `text` nests deeper than kMaxDepth.
// Brackets inside strings do not count.
bool depth_ok(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::optional<Json> parse_json(std::string_view text) {
  if (!depth_ok(text)) return std::nullopt;
  Json value = Json::parse(text.begin(), text.end(), nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

// A string, or a number written as C reads it (spec §3: numbers accepted
// as strings); nullopt for anything else.
std::optional<std::string> as_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return dump(value);
  return std::nullopt;
}

bool service_name_ok(std::string_view name) {
  if (name.size() > kMaxServiceBytes) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The class-hinted object's payload, when `value` is {"__c": name, "__p": {...}}.
const Json* hinted(const Json& value, std::string_view name) {
  if (!value.is_object()) return nullptr;
  const auto c = value.find("__c");
  const auto p = value.find("__p");
  if (c == value.end() || p == value.end() || !c->is_string() || *c != name || !p->is_object())
    return nullptr;
  return &*p;
}

std::optional<MessageType> type_of(const Json& fields) {
  const auto t = fields.find("type");
  if (t == fields.end() || !t->is_string()) return std::nullopt;
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (*t == kTypeNames[i]) return static_cast<MessageType>(i);
  }
  return std::nullopt;
}

ClientParse refuse(Drop reason, std::string detail) {
  ClientParse result;
  result.drop = reason;
  result.detail = std::move(detail);
  return result;
}

// Rebuilds one osrfMessage in C's key order (spec §2), or explains why
// `element` is not one.
std::optional<Json> normalise(const Json& element, OsrfMessage& out, std::string& why) {
  const Json* fields = hinted(element, "osrfMessage");
  if (fields == nullptr) {
    why = "an osrf_msg element is not an osrfMessage object";
    return std::nullopt;
  }
  const std::optional<MessageType> type = type_of(*fields);
  if (!type) {
    why = "an osrfMessage has no valid type";
    return std::nullopt;
  }
  out.type = *type;
  out.thread_trace = "0";
  if (const auto t = fields->find("threadTrace"); t != fields->end()) {
    const std::optional<std::string> trace = as_text(*t);
    if (!trace || trace->size() > kMaxThreadBytes) {
      why = "an osrfMessage threadTrace is not a short string or number";
      return std::nullopt;
    }
    out.thread_trace = *trace;
  }
  Json p = Json::object();
  p["threadTrace"] = out.thread_trace;
  const auto locale = fields->find("locale");
  p["locale"] = locale != fields->end() && locale->is_string() ? *locale : Json("en-US");
  if (const auto tz = fields->find("tz"); tz != fields->end() && tz->is_string()) p["tz"] = *tz;
  p["ingress"] = kIngress;
  if (const auto level = fields->find("api_level");
      level != fields->end() && level->is_number_integer() && level->get<int64_t>() > 0)
    p["api_level"] = *level;
  p["type"] = kTypeNames[static_cast<size_t>(*type)];
  const auto payload = fields->find("payload");
  if (*type == MessageType::Request) {
    const Json* method = payload == fields->end() ? nullptr : hinted(*payload, "osrfMethod");
    const auto name = method ? method->find("method") : Json::const_iterator{};
    if (method == nullptr || name == method->end() || !name->is_string()) {
      why = "a REQUEST has no osrfMethod payload with a method name";
      return std::nullopt;
    }
    out.method = name->get<std::string>();
    if (const auto params = method->find("params"); params != method->end()) {
      if (!params->is_array()) {
        why = "a REQUEST's params are not an array";
        return std::nullopt;
      }
      for (const Json& param : *params) {
        if (!out.params.empty()) out.params += ", ";
        out.params += dump(param);
      }
    }
  }
  const bool carries_payload = *type == MessageType::Request || *type == MessageType::Result ||
                               *type == MessageType::Status;
  if (carries_payload && payload != fields->end()) p["payload"] = *payload;
  Json message = Json::object();
  message["__c"] = "osrfMessage";
  message["__p"] = std::move(p);
  return message;
}

}  // namespace

std::string_view drop_name(Drop reason) {
  static constexpr std::array<std::string_view, kDropReasons> kNames = {
      "invalid_json", "bad_thread", "bad_log_xid",      "bad_service",
      "bad_osrf_msg", "no_recipient", "too_many_requests"};
  return kNames[static_cast<size_t>(reason)];
}

ClientParse parse_client_message(std::string_view text) {
  const std::optional<Json> doc = parse_json(text);
  if (!doc || !doc->is_object()) return refuse(Drop::InvalidJson, "not a JSON object");
  ClientMessage message;

  const auto thread = doc->find("thread");
  std::optional<std::string> thread_text;
  if (thread != doc->end()) thread_text = as_text(*thread);
  if (!thread_text || thread_text->empty() || thread_text->size() > kMaxThreadBytes)
    return refuse(Drop::BadThread, "thread missing, not a string, or over 64 bytes");
  message.thread = std::move(*thread_text);

  if (const auto xid = doc->find("log_xid"); xid != doc->end() && !xid->is_null()) {
    std::optional<std::string> xid_text = as_text(*xid);
    if (!xid_text || xid_text->size() > kMaxXidBytes)
      return refuse(Drop::BadXid, "log_xid not a string or over 64 bytes");
    if (!xid_text->empty()) message.log_xid = std::move(*xid_text);
  }

  if (const auto service = doc->find("service"); service != doc->end() && !service->is_null()) {
    if (!service->is_string() || !service_name_ok(service->get<std::string>()))
      return refuse(Drop::BadService, "service not a name of [A-Za-z0-9._-] up to 128 bytes");
    message.service = service->get<std::string>();
  }

  const auto osrf_msg = doc->find("osrf_msg");
  if (osrf_msg == doc->end() || !osrf_msg->is_array() || osrf_msg->empty())
    return refuse(Drop::BadOsrfMsg, "osrf_msg missing, empty, or not an array");
  Json body = Json::array();
  for (const Json& element : *osrf_msg) {
    OsrfMessage summary;
    std::string why;
    std::optional<Json> normalised = normalise(element, summary, why);
    if (!normalised) return refuse(Drop::BadOsrfMsg, std::move(why));
    body.push_back(std::move(*normalised));
    message.messages.push_back(std::move(summary));
  }
  message.body = dump(body);
  ClientParse result;
  result.message = std::move(message);
  return result;
}

std::string bus_envelope(std::string_view to, std::string_view from, std::string_view thread,
                         std::string_view xid, std::string_view body) {
  std::string out;
  out.reserve(body.size() + to.size() + from.size() + thread.size() + xid.size() + 64);
  out += "{\"to\":";
  append_json_string(out, to);
  out += ",\"from\":";
  append_json_string(out, from);
  out += ",\"thread\":";
  append_json_string(out, thread);
  out += ",\"osrf_xid\":";
  append_json_string(out, xid);
  out += ",\"body\":";
  out += body;
  out += '}';
  return out;
}

std::optional<BusMessage> parse_bus_message(std::string_view text, std::string& error) {
  const std::optional<Json> doc = parse_json(text);
  if (!doc || !doc->is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  BusMessage message;
  const auto from = doc->find("from");
  if (from == doc->end() || !from->is_string()) {
    error = "no \"from\" address";
    return std::nullopt;
  }
  message.from = from->get<std::string>();
  if (const auto thread = doc->find("thread"); thread != doc->end()) {
    std::optional<std::string> thread_text = as_text(*thread);
    if (!thread_text) {
      error = "thread is not a string";
      return std::nullopt;
    }
    message.thread = std::move(*thread_text);
  }
  if (const auto xid = doc->find("osrf_xid"); xid != doc->end() && !xid->is_null()) {
    std::optional<std::string> xid_text = as_text(*xid);
    if (xid_text && !xid_text->empty()) message.xid = std::move(*xid_text);
  }
  // The body is an embedded array; registration messages carry it as a
  // string holding the array (spec §2), which is read the same way.
  const auto body_field = doc->find("body");
  std::optional<Json> body;
  if (body_field != doc->end() && body_field->is_array()) body = *body_field;
  else if (body_field != doc->end() && body_field->is_string())
    body = parse_json(body_field->get<std::string>());
  if (!body || !body->is_array()) {
    error = "body is not an array";
    return std::nullopt;
  }
  for (const Json& element : *body) {
    const Json* fields = hinted(element, "osrfMessage");
    if (fields == nullptr || type_of(*fields) != MessageType::Status) continue;
    Status status;
    if (const auto t = fields->find("threadTrace"); t != fields->end())
      status.thread_trace = as_text(*t).value_or("");
    const auto payload = fields->find("payload");
    if (payload == fields->end() || !payload->is_object()) continue;
    const auto p = payload->find("__p");
    if (p == payload->end() || !p->is_object()) continue;
    const auto code = p->find("statusCode");
    if (code == p->end()) continue;
    const std::string code_text = as_text(*code).value_or("");
    const auto [end, ec] =
        std::from_chars(code_text.data(), code_text.data() + code_text.size(), status.code);
    if (ec != std::errc() || end != code_text.data() + code_text.size()) continue;
    message.statuses.push_back(std::move(status));
  }
  message.body = dump(*body);
  return message;
}

namespace {

void append_reply_head(std::string& out, std::string_view thread,
                       const std::optional<std::string>& log_xid) {
  out += "{\"thread\":";
  append_json_string(out, thread);
  out += ",\"log_xid\":";
  if (log_xid) append_json_string(out, *log_xid);
  else out += "null";
}

}  // namespace

std::string client_reply(std::string_view thread, const std::optional<std::string>& log_xid,
                         std::string_view body) {
  std::string out;
  out.reserve(body.size() + thread.size() + 64);
  append_reply_head(out, thread, log_xid);
  out += ",\"osrf_msg\":";
  out += body;
  out += '}';
  return out;
}

std::string transport_error_reply(std::string_view thread,
                                  const std::optional<std::string>& log_xid) {
  std::string out;
  append_reply_head(out, thread, log_xid);
  out += ",\"osrf_msg\":[],\"transport_error\":true}";
  return out;
}

std::string activity_line(std::string_view client_ip, std::string_view service,
                          const OsrfMessage& request, const std::vector<std::string>& protect) {
  std::string line;
  line.reserve(client_ip.size() + service.size() + request.method.size() + request.params.size() + 8);
  line += '[';
  line += client_ip;
  line += "] [] ";
  line += service;
  line += ' ';
  line += request.method;
  for (const std::string& prefix : protect) {
    if (std::string_view(request.method).starts_with(prefix)) {
      line += " **PARAMS REDACTED**";
      return line;
    }
  }
  line += ' ';
  line += request.params;
  return line;
}

std::string_view address_domain(std::string_view address) {
  for (int part = 0; part < 3; ++part) {
    const size_t colon = address.find(':');
    if (colon == std::string_view::npos) return {};
    address.remove_prefix(colon + 1);
  }
  return address.substr(0, address.find(':'));
}

}  // namespace wsgate::osrf
