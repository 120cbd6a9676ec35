// The OpenSRF translator's wire formats and bookkeeping, against the
// measured messages of ../shared/specs/opensrf-redis.md.
#include "osrf/codec.h"

#include <gtest/gtest.h>

#include "osrf/session_book.h"

namespace wsgate::osrf {
namespace {

// What opensrf.js sends for a request (spec §5), with a non-ASCII param.
constexpr std::string_view kRequest =
    R"({"service":"wsgate.test","thread":"T1","osrf_msg":[{"__c":"osrfMessage","__p":{)"
    R"("type":"REQUEST","threadTrace":1,"tz":"America/New_York","api_level":1,"ingress":"opensrf.js",)"
    R"("payload":{"__c":"osrfMethod","__p":{"method":"opensrf.system.echo","params":["hi",{"a":1},"ü"]}}}}]})";

TEST(OsrfCodec, NormalisesARequestAsTheCGatewayDoes) {
  const ClientParse parsed = parse_client_message(kRequest);
  ASSERT_TRUE(parsed.message) << parsed.detail;
  const ClientMessage& m = *parsed.message;
  EXPECT_EQ(m.service, "wsgate.test");
  EXPECT_EQ(m.thread, "T1");
  EXPECT_FALSE(m.log_xid);
  // The body of the verbatim REQUEST of spec §2: C's key order, the
  // threadTrace a string, locale defaulted, ingress forced, \u escapes.
  EXPECT_EQ(m.body,
            R"([{"__c":"osrfMessage","__p":{"threadTrace":"1","locale":"en-US","tz":"America/New_York",)"
            R"("ingress":"ws-translator-v2","api_level":1,"type":"REQUEST","payload":{"__c":"osrfMethod",)"
            R"("__p":{"method":"opensrf.system.echo","params":["hi",{"a":1},"\u00fc"]}}}}])");
  ASSERT_EQ(m.messages.size(), 1u);
  EXPECT_EQ(m.messages[0].type, MessageType::Request);
  EXPECT_EQ(m.messages[0].thread_trace, "1");
  EXPECT_EQ(m.messages[0].method, "opensrf.system.echo");
  EXPECT_EQ(m.messages[0].params, R"("hi", {"a":1}, "\u00fc")");
}

TEST(OsrfCodec, ConnectKeepsNoPayloadAndDropsApiLevelZero) {
  const ClientParse parsed = parse_client_message(
      R"({"service":"s","thread":"T","log_xid":"x1","osrf_msg":[{"__c":"osrfMessage","__p":{)"
      R"("threadTrace":"0","locale":"fr-CA","api_level":0,"type":"CONNECT","payload":"null"}}]})");
  ASSERT_TRUE(parsed.message) << parsed.detail;
  EXPECT_EQ(parsed.message->log_xid, "x1");
  EXPECT_EQ(parsed.message->body,
            R"([{"__c":"osrfMessage","__p":{"threadTrace":"0","locale":"fr-CA",)"
            R"("ingress":"ws-translator-v2","type":"CONNECT"}}])");
}

TEST(OsrfCodec, AcceptsMultiLineJsonAndNumericThreads) {
  const ClientParse parsed = parse_client_message(
      "{\n \"thread\": 42,\n \"osrf_msg\": [{\"__c\":\"osrfMessage\",\"__p\":{\"type\":\"DISCONNECT\"}}]\n}");
  ASSERT_TRUE(parsed.message) << parsed.detail;
  EXPECT_EQ(parsed.message->thread, "42");
  EXPECT_EQ(parsed.message->service, "");
  EXPECT_EQ(parsed.message->messages[0].type, MessageType::Disconnect);
  EXPECT_EQ(parsed.message->messages[0].thread_trace, "0");
}

std::string with_thread(const std::string& thread) {
  return R"({"service":"s","thread":")" + thread +
         R"(","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"DISCONNECT"}}]})";
}

TEST(OsrfCodec, ThreadOf64BytesIsValidAnd65IsNot) {
  EXPECT_TRUE(parse_client_message(with_thread(std::string(64, 't'))).message);
  const ClientParse refused = parse_client_message(with_thread(std::string(65, 't')));
  EXPECT_FALSE(refused.message);
  EXPECT_EQ(refused.drop, Drop::BadThread);
}

TEST(OsrfCodec, RefusesEachBadInputWithItsReason) {
  const std::string element = R"({"__c":"osrfMessage","__p":{"type":"DISCONNECT"}})";
  const std::pair<std::string, Drop> cases[] = {
      {"not json", Drop::InvalidJson},
      {"[1,2]", Drop::InvalidJson},
      {std::string(200, '[') + std::string(200, ']'), Drop::InvalidJson},
      {R"({"osrf_msg":[)" + element + "]}", Drop::BadThread},
      {R"({"thread":"","osrf_msg":[)" + element + "]}", Drop::BadThread},
      {R"({"thread":{},"osrf_msg":[)" + element + "]}", Drop::BadThread},
      {R"({"thread":"T","log_xid":")" + std::string(65, 'x') + R"(","osrf_msg":[)" + element + "]}",
       Drop::BadXid},
      {R"({"thread":"T","service":")" + std::string(129, 's') + R"(","osrf_msg":[)" + element + "]}",
       Drop::BadService},
      {R"({"thread":"T","service":"a:b","osrf_msg":[)" + element + "]}", Drop::BadService},
      {R"({"thread":"T","service":7,"osrf_msg":[)" + element + "]}", Drop::BadService},
      {R"({"thread":"T"})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":{"__c":"osrfMessage"}})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[]})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[1]})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[{"__c":"osrfMethod","__p":{}}]})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"BOGUS"}}]})", Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"REQUEST"}}]})",
       Drop::BadOsrfMsg},
      {R"({"thread":"T","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"REQUEST","payload":)"
       R"({"__c":"osrfMethod","__p":{"method":"m","params":{}}}}}]})",
       Drop::BadOsrfMsg},
  };
  for (const auto& [text, reason] : cases) {
    const ClientParse parsed = parse_client_message(text);
    EXPECT_FALSE(parsed.message) << text;
    EXPECT_EQ(parsed.drop, reason) << text << ": " << parsed.detail;
    EXPECT_FALSE(parsed.detail.empty());
  }
}

TEST(OsrfCodec, BracketsInStringsDoNotCountAsDepth) {
  const std::string deep_string = std::string(500, '[');
  const ClientParse parsed = parse_client_message(
      R"({"thread":"T","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"REQUEST","payload":)"
      R"({"__c":"osrfMethod","__p":{"method":"m","params":[")" +
      deep_string + R"(\""]}}}}]})");
  ASSERT_TRUE(parsed.message) << parsed.detail;
}

TEST(OsrfCodec, EnvelopeInTheSpecsKeyOrder) {
  EXPECT_EQ(bus_envelope("opensrf:service:_:_:s", "opensrf:client:g:localhost:h:1:r", "T1", "17",
                         "[]"),
            R"({"to":"opensrf:service:_:_:s","from":"opensrf:client:g:localhost:h:1:r",)"
            R"("thread":"T1","osrf_xid":"17","body":[]})");
}

// A drone's reply (spec §2): RESULT then STATUS 205, statusCode a string.
constexpr std::string_view kReply =
    R"({"to":"opensrf:client:g:localhost:h:1:r","from":"opensrf:client:opensrf:127.0.0.1:d:2:q",)"
    R"("thread":"T1","osrf_xid":"17","body":[)"
    R"({"__c":"osrfMessage","__p":{"threadTrace":"1","locale":"en-US","type":"RESULT","payload":)"
    R"({"__c":"osrfResult","__p":{"status":"OK","statusCode":"200","content":"h\u00e9"}}}},)"
    R"({"__c":"osrfMessage","__p":{"threadTrace":"1","locale":"en-US","type":"STATUS","payload":)"
    R"({"__c":"osrfConnectStatus","__p":{"status":"Request Complete","statusCode":205}}}}]})";

TEST(OsrfCodec, ParsesABusReplyAndItsStatuses) {
  std::string error;
  const std::optional<BusMessage> m = parse_bus_message(kReply, error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->from, "opensrf:client:opensrf:127.0.0.1:d:2:q");
  EXPECT_EQ(m->thread, "T1");
  EXPECT_EQ(m->xid, "17");
  ASSERT_EQ(m->statuses.size(), 1u);
  EXPECT_EQ(m->statuses[0].thread_trace, "1");
  EXPECT_EQ(m->statuses[0].code, 205);
  EXPECT_EQ(client_reply(m->thread, m->xid, m->body),
            R"({"thread":"T1","log_xid":"17","osrf_msg":[{"__c":"osrfMessage","__p":{)"
            R"("threadTrace":"1","locale":"en-US","type":"RESULT","payload":{"__c":"osrfResult",)"
            R"("__p":{"status":"OK","statusCode":"200","content":"h\u00e9"}}}},{"__c":"osrfMessage",)"
            R"("__p":{"threadTrace":"1","locale":"en-US","type":"STATUS","payload":{"__c":)"
            R"("osrfConnectStatus","__p":{"status":"Request Complete","statusCode":205}}}}]})");
}

TEST(OsrfCodec, BusMessagesWithoutXidOrWithAStringBody) {
  std::string error;
  const auto m = parse_bus_message(
      R"({"to":"a","from":"b","thread":"","osrf_xid":null,"router_command":"register","body":"[]"})",
      error);
  ASSERT_TRUE(m) << error;
  EXPECT_FALSE(m->xid);
  EXPECT_EQ(m->body, "[]");
  EXPECT_FALSE(parse_bus_message(R"({"to":"a","body":[]})", error));
  EXPECT_FALSE(parse_bus_message(R"({"from":"b","body":{}})", error));
  EXPECT_FALSE(parse_bus_message("nope", error));
}

TEST(OsrfCodec, RepliesForTheBrowser) {
  EXPECT_EQ(client_reply("T", std::nullopt, "[]"), R"({"thread":"T","log_xid":null,"osrf_msg":[]})");
  EXPECT_EQ(transport_error_reply("T", std::string("9")),
            R"({"thread":"T","log_xid":"9","osrf_msg":[],"transport_error":true})");
}

TEST(OsrfCodec, ActivityLineRedactsProtectedMethods) {
  OsrfMessage request;
  request.method = "open-ils.auth.authenticate.complete";
  request.params = R"({"password":"secret"})";
  const std::vector<std::string> protect = {"open-ils.auth"};
  EXPECT_EQ(activity_line("10.0.0.1", "open-ils.auth", request, protect),
            "[10.0.0.1] [] open-ils.auth open-ils.auth.authenticate.complete **PARAMS REDACTED**");
  request.method = "open-ils.actor.ou_setting";
  EXPECT_EQ(activity_line("::1", "open-ils.actor", request, protect),
            R"([::1] [] open-ils.actor open-ils.actor.ou_setting {"password":"secret"})");
}

TEST(OsrfCodec, AddressDomain) {
  EXPECT_EQ(address_domain("opensrf:client:opensrf:127.0.0.1:host:12:ab"), "127.0.0.1");
  EXPECT_EQ(address_domain("opensrf:router:router:localhost"), "localhost");
  EXPECT_EQ(address_domain("opensrf:client:x"), "");
}

// ---- bookkeeping ---------------------------------------------------------------

OsrfMessage msg(MessageType type, std::string trace) {
  OsrfMessage m;
  m.type = type;
  m.thread_trace = std::move(trace);
  return m;
}

std::vector<Status> status(std::string trace, int code) { return {Status{std::move(trace), code}}; }

constexpr std::string_view kDrone = "opensrf:client:opensrf:127.0.0.1:d:2:q";

TEST(OsrfSessions, StatelessRequestOpensAndCloses) {
  SessionBook book(128);
  book.sent("T", {msg(MessageType::Request, "1")}, "x1");
  EXPECT_EQ(book.requests_in_flight(), 1u);
  EXPECT_EQ(book.last_xid("T"), "x1");
  const auto outcome = book.received("T", kDrone, status("1", 205));
  EXPECT_EQ(outcome.closed, 1u);
  EXPECT_FALSE(outcome.cached);
  EXPECT_EQ(book.requests_in_flight(), 0u);
  EXPECT_EQ(book.threads(), 0u);  // nothing kept for a finished stateless thread
}

TEST(OsrfSessions, ConnectCachesTheDroneUntilDisconnect) {
  SessionBook book(128);
  book.sent("T", {msg(MessageType::Connect, "0")}, "x1");
  EXPECT_TRUE(book.received("T", kDrone, status("0", 200)).cached);
  ASSERT_NE(book.drone("T"), nullptr);
  EXPECT_EQ(*book.drone("T"), kDrone);
  EXPECT_EQ(book.sessions(), 1u);
  EXPECT_EQ(book.requests_in_flight(), 0u);
  // Two requests on the thread: each is counted, one 205 closes one.
  book.sent("T", {msg(MessageType::Request, "1"), msg(MessageType::Request, "2")}, "x2");
  EXPECT_EQ(book.requests_in_flight(), 2u);
  book.received("T", kDrone, status("2", 205));
  EXPECT_EQ(book.requests_in_flight(), 1u);
  book.received("T", kDrone, status("1", 205));
  EXPECT_EQ(book.requests_in_flight(), 0u);
  book.sent("T", {msg(MessageType::Disconnect, "3")}, "x3");
  EXPECT_EQ(book.drone("T"), nullptr);
  EXPECT_EQ(book.sessions(), 0u);
  EXPECT_EQ(book.threads(), 0u);
}

TEST(OsrfSessions, EndThreadEndsItsRequestsAndSessionOnly) {
  SessionBook book(128);
  book.sent("T", {msg(MessageType::Connect, "0")}, "x1");
  book.received("T", kDrone, status("0", 200));
  book.sent("T", {msg(MessageType::Request, "1"), msg(MessageType::Request, "2")}, "x2");
  book.sent("U", {msg(MessageType::Request, "1")}, "x3");
  const auto outcome = book.end_thread("T");  // a message on T never reached the bus
  EXPECT_EQ(outcome.closed, 2u);
  EXPECT_TRUE(outcome.uncached);
  EXPECT_EQ(book.drone("T"), nullptr);
  EXPECT_EQ(book.sessions(), 0u);
  EXPECT_EQ(book.requests_in_flight(), 1u);  // U's
  EXPECT_EQ(book.end_thread("nope").closed, 0u);
}

TEST(OsrfSessions, A200ForARequestDoesNotCache) {
  SessionBook book(128);
  book.sent("T", {msg(MessageType::Request, "1")}, "x");
  EXPECT_FALSE(book.received("T", kDrone, status("1", 200)).cached);
  EXPECT_EQ(book.requests_in_flight(), 1u);
}

TEST(OsrfSessions, ErrorStatusEndsTheThread) {
  SessionBook book(128);
  book.sent("T", {msg(MessageType::Connect, "0")}, "x");
  book.received("T", kDrone, status("0", 200));
  book.sent("T", {msg(MessageType::Request, "1"), msg(MessageType::Request, "2")}, "x");
  // The drone's keepalive 408 carries threadTrace "0".
  const auto outcome = book.received("T", kDrone, status("0", 408));
  EXPECT_TRUE(outcome.uncached);
  EXPECT_EQ(outcome.closed, 2u);
  EXPECT_EQ(book.requests_in_flight(), 0u);
  EXPECT_EQ(book.sessions(), 0u);
  // The router's 404 for an unknown service always says threadTrace "1".
  book.sent("U", {msg(MessageType::Request, "5")}, "y");
  EXPECT_EQ(book.received("U", "opensrf:router:router:localhost", status("1", 404)).closed, 1u);
  EXPECT_EQ(book.threads(), 0u);
}

TEST(OsrfSessions, CacheCapLeavesTheSessionStateless) {
  SessionBook book(1);
  book.sent("A", {msg(MessageType::Connect, "0")}, "x");
  EXPECT_TRUE(book.received("A", kDrone, status("0", 200)).cached);
  book.sent("B", {msg(MessageType::Connect, "0")}, "x");
  const auto outcome = book.received("B", kDrone, status("0", 200));
  EXPECT_FALSE(outcome.cached);
  EXPECT_TRUE(outcome.cache_full);
  EXPECT_EQ(book.drone("B"), nullptr);
  EXPECT_EQ(book.requests_in_flight(), 0u);
}

TEST(OsrfSessions, ConnectRequestDisconnectBatchLeavesNoStaleEntry) {
  SessionBook book(128);
  book.sent("T",
            {msg(MessageType::Connect, "0"), msg(MessageType::Request, "1"),
             msg(MessageType::Disconnect, "2")},
            "x");
  book.received("T", kDrone, {Status{"0", 200}, Status{"1", 205}});
  // Upstream caches here and never forgets (spec §3 defects). The
  // DISCONNECT was already sent, so caching would pin a dead session.
  EXPECT_EQ(book.drone("T"), nullptr);
  EXPECT_EQ(book.sessions(), 0u);
  EXPECT_EQ(book.requests_in_flight(), 0u);
  EXPECT_EQ(book.threads(), 0u);
}

TEST(OsrfSessions, AbandonAnswersEachThreadWithItsXid) {
  SessionBook book(128);
  book.sent("A", {msg(MessageType::Request, "1")}, "xa");
  book.sent("B", {msg(MessageType::Request, "1"), msg(MessageType::Request, "2")}, "xb");
  const auto abandoned = book.abandon_requests();
  ASSERT_EQ(abandoned.size(), 2u);
  EXPECT_EQ(abandoned[0], (std::pair<std::string, std::string>{"A", "xa"}));
  EXPECT_EQ(abandoned[1], (std::pair<std::string, std::string>{"B", "xb"}));
  EXPECT_EQ(book.requests_in_flight(), 0u);
  EXPECT_EQ(book.threads(), 0u);
}

TEST(OsrfSessions, RequestsInFlightAreBounded) {
  SessionBook book(128);
  std::vector<OsrfMessage> many(SessionBook::kMaxRequestsInFlight, msg(MessageType::Request, "1"));
  EXPECT_TRUE(book.can_open(many));
  book.sent("T", many, "x");
  EXPECT_FALSE(book.can_open({msg(MessageType::Request, "2")}));
  EXPECT_TRUE(book.can_open({msg(MessageType::Disconnect, "2")}));
}

}  // namespace
}  // namespace wsgate::osrf
