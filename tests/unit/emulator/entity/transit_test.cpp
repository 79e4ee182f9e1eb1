#include "emulator/entity/transit.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sesam::emulator {

void PrintTo(const TransitValue& v, std::ostream* os)
{
    *os << "{tag '" << static_cast<char>(v.tag) << "', text \"" << v.text << "\", seconds "
        << v.seconds << ", nanos " << v.nanos << "}";
}

namespace {

// Every input the tests decode goes through here, so each one also checks that check_transit
// gives the same verdict.
TransitDecoded decode_checked(std::string_view s)
{
    TransitDecoded decoded = decode_transit(s);
    EXPECT_EQ(check_transit(s) != nullptr, std::holds_alternative<TransitError>(decoded))
        << "check_transit and decode_transit disagree on \"" << s << "\"";
    return decoded;
}

TransitValue value_of(std::string_view s)
{
    TransitDecoded decoded = decode_checked(s);
    if (auto* value = std::get_if<TransitValue>(&decoded)) {
        return *value;
    }
    ADD_FAILURE() << "\"" << s << "\" did not decode to a value";
    return {};
}

std::string error_of(std::string_view s)
{
    TransitDecoded decoded = decode_checked(s);
    if (auto* error = std::get_if<TransitError>(&decoded)) {
        return error->message;
    }
    ADD_FAILURE() << "\"" << s << "\" did not fail to decode";
    return {};
}

bool is_plain_string(std::string_view s)
{
    return std::holds_alternative<std::monostate>(decode_checked(s));
}

TransitValue datetime(std::int64_t seconds, std::int32_t nanos = 0)
{
    return {TransitTag::datetime, "", seconds, nanos};
}

TransitValue text_value(TransitTag tag, std::string text)
{
    return {tag, std::move(text), 0, 0};
}

constexpr std::string_view kIsoForms = "is not one of the four ISO-8601 forms YYYY-MM-DD[Z] or "
                                       "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z";

// ---- not transit (docs/protocol.md#transit rules 2, 4, 5, 7) ----

TEST(TransitDecode, ShortOrUntaggedStringsAreNotTransit)
{
    EXPECT_TRUE(is_plain_string(""));
    EXPECT_TRUE(is_plain_string("~"));
    EXPECT_TRUE(is_plain_string("abc"));
    EXPECT_TRUE(is_plain_string("x~t2015-01-01"));
    EXPECT_TRUE(is_plain_string(" ~t2015-13-01"));
}

TEST(TransitDecode, UnknownTagsStayPlainStrings)
{
    EXPECT_TRUE(is_plain_string("~x"));
    EXPECT_TRUE(is_plain_string("~d1.5")); // transit double is not a node tag
    EXPECT_TRUE(is_plain_string("~T2015-01-01"));
    EXPECT_TRUE(is_plain_string("~F1.5"));
    EXPECT_TRUE(is_plain_string("~ "));
}

TEST(TransitDecode, DoubleTildeIsNotAnEscape)
{
    EXPECT_TRUE(is_plain_string("~~x"));
    EXPECT_TRUE(is_plain_string("~~t2015-13-01"));
}

TEST(TransitDecode, KnownTags)
{
    for (const char tag : std::string_view(":rtbuf")) {
        EXPECT_TRUE(is_known_transit_tag(tag)) << tag;
    }
    for (const char tag : std::string_view("~dxTRBUF ")) {
        EXPECT_FALSE(is_known_transit_tag(tag)) << tag;
    }
}

TEST(TransitDecode, EmptyPayloadIsAnErrorForEveryTag)
{
    EXPECT_EQ(error_of("~f"), "transit value \"~f\" has an empty payload");
    EXPECT_EQ(error_of("~t"), "transit value \"~t\" has an empty payload");
    EXPECT_EQ(error_of("~b"), "transit value \"~b\" has an empty payload");
    EXPECT_EQ(error_of("~u"), "transit value \"~u\" has an empty payload");
    EXPECT_EQ(error_of("~r"), "transit value \"~r\" has an empty payload");
    EXPECT_EQ(error_of("~:"), "transit value \"~:\" has an empty payload");
}

// ---- ~t (docs/protocol.md#transit rule 6) ----

TEST(TransitDecode, DateOnlyIsMidnight)
{
    EXPECT_EQ(value_of("~t1970-01-01"), datetime(0));
    EXPECT_EQ(value_of("~t2015-12-31"), datetime(1451520000));
    EXPECT_EQ(value_of("~t2015-12-31"), value_of("~t2015-12-31T00:00:00Z"));
}

TEST(TransitDecode, DateWithZ)
{
    EXPECT_EQ(value_of("~t1970-01-01Z"), datetime(0));
    EXPECT_EQ(value_of("~t1980-02-01Z"), datetime(318211200));
}

TEST(TransitDecode, DatetimeWithoutFraction)
{
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05Z"), datetime(1420167845));
    EXPECT_EQ(value_of("~t2015-07-28T09:46:00Z"), datetime(1438076760));
}

TEST(TransitDecode, DatetimeWithFractionScaledToNanos)
{
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05.123456789Z"), datetime(1420167845, 123456789));
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05.5Z"), datetime(1420167845, 500000000));
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05.000000001Z"), datetime(1420167845, 1));
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05.12345Z"), datetime(1420167845, 123450000));
    EXPECT_EQ(value_of("~t2015-01-02T03:04:05.0Z"), datetime(1420167845, 0));
}

TEST(TransitDecode, BeforeEpochIsNegative)
{
    EXPECT_EQ(value_of("~t1969-07-20T20:17:40Z"), datetime(-14182940));
    EXPECT_EQ(value_of("~t1969-12-31T23:59:59.5Z"), datetime(-1, 500000000));
    EXPECT_EQ(value_of("~t1900-03-01"), datetime(-2203891200));
    EXPECT_EQ(value_of("~t0999-03-04T05:06:07Z"), datetime(-30636384833));
}

TEST(TransitDecode, RangeLimits)
{
    EXPECT_EQ(value_of("~t0001-01-01"), datetime(-62135596800));
    EXPECT_EQ(value_of("~t9999-12-31T23:59:59.999999999Z"), datetime(253402300799, 999999999));
}

TEST(TransitDecode, LeapYears)
{
    EXPECT_EQ(value_of("~t2016-02-29"), datetime(1456704000));
    EXPECT_EQ(value_of("~t2000-02-29"), datetime(951782400));
    EXPECT_EQ(value_of("~t2100-03-01"), datetime(4107542400));
    EXPECT_EQ(error_of("~t2015-02-29"),
              "~t value \"2015-02-29\" has day 29, but 2015-02 has 28 days");
    EXPECT_EQ(error_of("~t1900-02-29"),
              "~t value \"1900-02-29\" has day 29, but 1900-02 has 28 days");
    EXPECT_EQ(error_of("~t2016-02-30"),
              "~t value \"2016-02-30\" has day 30, but 2016-02 has 29 days");
}

TEST(TransitDecode, CalendarFieldsOutOfRange)
{
    EXPECT_EQ(error_of("~t2015-13-01"), "~t value \"2015-13-01\" has month 13");
    EXPECT_EQ(error_of("~t2015-00-10"), "~t value \"2015-00-10\" has month 0");
    EXPECT_EQ(error_of("~t2015-04-31"),
              "~t value \"2015-04-31\" has day 31, but 2015-04 has 30 days");
    EXPECT_EQ(error_of("~t2015-01-00"),
              "~t value \"2015-01-00\" has day 0, but 2015-01 has 31 days");
    EXPECT_EQ(error_of("~t0000-01-01"),
              "~t value \"0000-01-01\" has year 0000 (the earliest is 0001)");
    EXPECT_EQ(error_of("~t2015-01-01T24:00:00Z"), "~t value \"2015-01-01T24:00:00Z\" has hour 24");
    EXPECT_EQ(error_of("~t2015-01-01T23:60:00Z"),
              "~t value \"2015-01-01T23:60:00Z\" has minute 60");
    EXPECT_EQ(error_of("~t2015-12-31T23:59:60Z"),
              "~t value \"2015-12-31T23:59:60Z\" has second 60");
}

TEST(TransitDecode, DatetimeOutsideTheFourFormsIsAnError)
{
    const std::vector<std::string> malformed = {
        "2015-01-02T03:04:05.1234567890Z", // 10 fraction digits
        "2015-01-02T03:04:05",             // missing Z
        "2015-01-02T03:04:05.5",           // missing Z after a fraction
        "2015-01-02T03:04:05+01:00",       // offset
        "2015-01-02T03:04:05+00:00",       // offset, even a zero one
        "2015-01-02T03:04:05z",            // lower-case z
        "2015-01-02z",
        "2015-01-02 03:04:05Z", // space instead of T
        "2015-01-02t03:04:05Z",
        "2015-01-02T03:04Z", // no seconds
        "2015-01-02T03:04:05.Z",
        "2015-01-02T03:04:05,5Z",
        "2015-01-02T",
        "2015-01-02TZ",
        "2015-1-02",
        "15-01-02",
        "+2015-01-02",
        "20150102",
        "2015/01/02",
        "2015-01-02ZZ",
        " 2015-01-02",
        "2015-01-02 ",
        "2015-01-02T03:04:05Z ",
        "２015-01-02",
        "abcd-ef-gh",
    };
    for (const std::string& payload : malformed) {
        EXPECT_EQ(error_of("~t" + payload),
                  "~t value \"" + payload + "\" " + std::string(kIsoForms))
            << payload;
    }
}

// ---- ~f ----

TEST(TransitDecode, DecimalKeepsTextAsReceived)
{
    for (const char* text : {"1",
                             "-12.50",
                             "+1",
                             "1.5",
                             ".5",
                             "5.",
                             "0",
                             "-0.0",
                             "1e10",
                             "1E-5",
                             "1.5e+3",
                             ".5E5",
                             "12345678901234567890.1234567890"}) {
        EXPECT_EQ(value_of("~f" + std::string(text)), text_value(TransitTag::decimal, text));
    }
}

TEST(TransitDecode, MalformedDecimalIsAnError)
{
    for (const char* text : {".",
                             "-",
                             "+.",
                             "e5",
                             "1e",
                             "1e+",
                             "1.e",
                             "NaN",
                             "Infinity",
                             "-inf",
                             " 1",
                             "1 ",
                             "1.2.3",
                             "0x10",
                             "1,5",
                             "--1",
                             "1e5.5",
                             "1_000"}) {
        EXPECT_EQ(error_of("~f" + std::string(text)),
                  "~f value \"" + std::string(text) +
                      "\" is not a decimal number (digits with an optional sign, fraction and "
                      "exponent)");
    }
}

// ---- ~b ----

TEST(TransitDecode, Base64DecodesToBytes)
{
    EXPECT_EQ(value_of("~bAAECAwQF"),
              text_value(TransitTag::bytes, std::string("\x00\x01\x02\x03\x04\x05", 6)));
    EXPECT_EQ(value_of("~bZg=="), text_value(TransitTag::bytes, "f"));
    EXPECT_EQ(value_of("~bZm8="), text_value(TransitTag::bytes, "fo"));
    EXPECT_EQ(value_of("~bZm9v"), text_value(TransitTag::bytes, "foo"));
    EXPECT_EQ(value_of("~bZm9vYmFy"), text_value(TransitTag::bytes, "foobar"));
    EXPECT_EQ(value_of("~b//4="), text_value(TransitTag::bytes, "\xff\xfe"));
    EXPECT_EQ(value_of("~b+/8="), text_value(TransitTag::bytes, "\xfb\xff"));
}

TEST(TransitDecode, Base64WithNonZeroTrailingBitsIsAccepted)
{
    // As Python's base64.b64decode: the unused bits of the last character are ignored.
    EXPECT_EQ(value_of("~bAB=="), text_value(TransitTag::bytes, std::string(1, '\0')));
}

TEST(TransitDecode, Base64LengthMustBeAMultipleOfFour)
{
    EXPECT_EQ(error_of("~bZg"), "~b value \"Zg\" has length 2, which is not a multiple of 4");
    EXPECT_EQ(error_of("~bZg="), "~b value \"Zg=\" has length 3, which is not a multiple of 4");
    EXPECT_EQ(error_of("~bZm9vY"), "~b value \"Zm9vY\" has length 5, which is not a multiple of 4");
}

TEST(TransitDecode, Base64PaddingOnlyAtTheEndAndAtMostTwo)
{
    const std::string padding = " has '=' padding other than at most two at the end";
    EXPECT_EQ(error_of("~bZ==="), "~b value \"Z===\"" + padding);
    EXPECT_EQ(error_of("~b===="), "~b value \"====\"" + padding);
    EXPECT_EQ(error_of("~bZg=a"), "~b value \"Zg=a\"" + padding);
    EXPECT_EQ(error_of("~bZg==Zm8="), "~b value \"Zg==Zm8=\"" + padding);
    EXPECT_EQ(error_of("~b=Zm8"), "~b value \"=Zm8\"" + padding);
}

TEST(TransitDecode, Base64OutsideTheStandardAlphabet)
{
    const std::string alphabet =
        " has a character outside the standard base64 alphabet at position ";
    EXPECT_EQ(error_of("~bZm9v!A=="), "~b value \"Zm9v!A==\"" + alphabet + "4");
    EXPECT_EQ(error_of("~bZm9v YQ="), "~b value \"Zm9v YQ=\"" + alphabet + "4");
    EXPECT_EQ(error_of("~b-_8="), "~b value \"-_8=\"" + alphabet + "0"); // url-safe alphabet
}

// ---- ~u ----

TEST(TransitDecode, UuidFormsBecomeCanonicalLowerCase)
{
    const TransitValue expected =
        text_value(TransitTag::uuid, "531a379e-31bb-4ce1-8690-158dceb64be6");
    for (const char* form : {"531a379e-31bb-4ce1-8690-158dceb64be6",
                             "531A379E-31BB-4CE1-8690-158DCEB64BE6",
                             "531a379e31bb4ce18690158dceb64be6",
                             "{531a379e-31bb-4ce1-8690-158dceb64be6}",
                             "{531a379e31bb4ce18690158dceb64be6",
                             "urn:uuid:531a379e-31bb-4ce1-8690-158dceb64be6",
                             "uuid:531a379e31bb4ce18690158dceb64be6",
                             "{urn:uuid:531a379e31bb4ce18690158dceb64be6}",
                             "urn:uuid:{531A379E31BB4CE18690158DCEB64BE6}",
                             "5-3-1a379e31bb4ce18690158dceb64be6-",
                             "--531a379e31bb4ce18690158dceb64be6"}) {
        EXPECT_EQ(value_of("~u" + std::string(form)), expected) << form;
    }
}

TEST(TransitDecode, MalformedUuidIsAnError)
{
    for (const char* form : {"531a379e-31bb-4ce1-8690-158dceb64be",   // 31 digits
                             "531a379e-31bb-4ce1-8690-158dceb64be66", // 33 digits
                             "531a379e-31bb-4ce1-8690-158dceb64beg",
                             "URN:UUID:531a379e31bb4ce18690158dceb64be6",
                             " 531a379e31bb4ce18690158dceb64be6",
                             "531a379e 31bb4ce18690158dceb64be6",
                             "{}",
                             "-"}) {
        EXPECT_EQ(error_of("~u" + std::string(form)),
                  "~u value \"" + std::string(form) +
                      "\" is not 32 hex digits (hyphens, surrounding braces and a urn:uuid: prefix "
                      "allowed)");
    }
}

// ---- ~r and ~: ----

TEST(TransitDecode, UriAndNamespacedIdKeepPayload)
{
    EXPECT_EQ(value_of("~rhttp://www.sesam.io/"),
              text_value(TransitTag::uri, "http://www.sesam.io/"));
    EXPECT_EQ(value_of("~r not a uri"), text_value(TransitTag::uri, " not a uri"));
    EXPECT_EQ(value_of("~:crm:123"), text_value(TransitTag::namespaced_id, "crm:123"));
    EXPECT_EQ(value_of("~:bar"), text_value(TransitTag::namespaced_id, "bar"));
    EXPECT_EQ(value_of("~::"), text_value(TransitTag::namespaced_id, ":"));
}

// ---- messages ----

TEST(TransitDecode, LongPayloadIsCutInTheMessage)
{
    const std::string payload(100, 'x');
    EXPECT_EQ(error_of("~t" + payload),
              "~t value \"" + std::string(80, 'x') + "\"... " + std::string(kIsoForms));
    // The cut backs off to a UTF-8 boundary: 79 ASCII bytes, then a two-byte character.
    const std::string utf8 = std::string(79, 'x') + "\xc3\xa6" + std::string(20, 'x');
    EXPECT_EQ(error_of("~t" + utf8),
              "~t value \"" + std::string(79, 'x') + "\"... " + std::string(kIsoForms));
}

TEST(TransitDecode, ControlCharactersAreEscapedInTheMessage)
{
    EXPECT_EQ(error_of("~t2015-01-01\n"),
              "~t value \"2015-01-01\\u000a\" " + std::string(kIsoForms));
    EXPECT_EQ(error_of("~f\"1\\"),
              "~f value \"\\\"1\\\\\" is not a decimal number (digits with an "
              "optional sign, fraction and exponent)");
}

// ---- check_transit ----

TEST(TransitCheck, StaticMessages)
{
    EXPECT_EQ(check_transit("plain"), nullptr);
    EXPECT_EQ(check_transit("~x"), nullptr);
    EXPECT_EQ(check_transit("~t2015-01-01"), nullptr);
    EXPECT_STREQ(check_transit("~t2015-01-01T00:00:00+01:00"),
                 "~t value is not one of the four ISO-8601 forms YYYY-MM-DD[Z] or "
                 "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z");
    EXPECT_STREQ(check_transit("~t2015-13-01"), "~t value has a month outside 01-12");
    EXPECT_STREQ(check_transit("~t2015-02-29"), "~t value has a day that its month does not have");
    EXPECT_STREQ(check_transit("~f"), "transit value has a known tag but an empty payload");
    EXPECT_STREQ(check_transit("~fx"), "~f value is not a decimal number");
    EXPECT_STREQ(check_transit("~bZg="), "~b value has a length that is not a multiple of 4");
    EXPECT_STREQ(check_transit("~uxyz"),
                 "~u value is not 32 hex digits (hyphens, surrounding braces and a urn:uuid: "
                 "prefix allowed)");
}

TEST(TransitCheck, AgreesWithDecodeOnEveryInput)
{
    // A sweep on top of the per-test agreement check in decode_checked: every prefix of these
    // inputs, which crosses every length boundary of the forms. The counts say how many prefixes
    // of each input decode to a value and how many are errors (the rest are plain strings).
    struct Sweep {
        std::string input;
        int values;
        int errors;
    };
    const std::vector<Sweep> sweeps = {
        {"~t2015-01-02T03:04:05.123456789Z", 2, 29},  // the date and the whole
        {"~t9999-12-31T23:59:59.999999999Z", 2, 29},  // the date and the whole
        {"~t2015-01-02T03:04:05.1234567890Z", 1, 31}, // only the date
        {"~bZm9vYmFy==", 2, 9},                       // Zm9v and Zm9vYmFy
        {"~uurn:uuid:{531a379e-31bb-4ce1-8690-158dceb64be6}",
         2,
         46},                   // 32 digits, with and without }
        {"~f-12.50e+10", 7, 4}, // all but "", "-", "-12.50e", "-12.50e+"
        {"~:crm:123", 7, 1},    // all but the empty payload
        {"~rhttp://x/", 9, 1},  // all but the empty payload
        {"~~t2015-01-01", 0, 0},
    };
    for (const Sweep& sweep : sweeps) {
        int values = 0;
        int errors = 0;
        for (std::size_t n = 0; n <= sweep.input.size(); ++n) {
            const TransitDecoded decoded = decode_checked(sweep.input.substr(0, n));
            values += std::holds_alternative<TransitValue>(decoded) ? 1 : 0;
            errors += std::holds_alternative<TransitError>(decoded) ? 1 : 0;
        }
        EXPECT_EQ(values, sweep.values) << sweep.input;
        EXPECT_EQ(errors, sweep.errors) << sweep.input;
    }
}

// ---- encoding (docs/protocol.md#transit encoding rules) ----

TEST(TransitEncode, DatetimeStripsTrailingFractionZeros)
{
    EXPECT_EQ(encode_datetime(1438076760, 123450000), "2015-07-28T09:46:00.12345Z");
    EXPECT_EQ(encode_datetime(1420167845, 123456789), "2015-01-02T03:04:05.123456789Z");
    EXPECT_EQ(encode_datetime(1420167845, 1), "2015-01-02T03:04:05.000000001Z");
    EXPECT_EQ(encode_datetime(1420167845, 500000000), "2015-01-02T03:04:05.5Z");
}

TEST(TransitEncode, ZeroNanosHasNoFraction)
{
    EXPECT_EQ(encode_datetime(1438041600, 0), "2015-07-28T00:00:00Z");
    EXPECT_EQ(encode_datetime(0, 0), "1970-01-01T00:00:00Z");
}

TEST(TransitEncode, DateComesOutAsMidnightDatetime)
{
    EXPECT_EQ(encode_transit(value_of("~t2015-12-31")), "~t2015-12-31T00:00:00Z");
    EXPECT_EQ(encode_transit(value_of("~t1980-02-01Z")), "~t1980-02-01T00:00:00Z");
}

TEST(TransitEncode, YearIsPaddedToFourDigits)
{
    EXPECT_EQ(encode_datetime(-62135596800, 0), "0001-01-01T00:00:00Z");
    EXPECT_EQ(encode_datetime(-30636384833, 0), "0999-03-04T05:06:07Z");
    EXPECT_EQ(encode_datetime(253402300799, 999999999), "9999-12-31T23:59:59.999999999Z");
}

TEST(TransitEncode, BeforeEpoch)
{
    EXPECT_EQ(encode_datetime(-1, 500000000), "1969-12-31T23:59:59.5Z");
    EXPECT_EQ(encode_datetime(-14182940, 0), "1969-07-20T20:17:40Z");
    EXPECT_EQ(encode_datetime(-2203891200, 0), "1900-03-01T00:00:00Z");
    EXPECT_EQ(encode_datetime(951782400, 0), "2000-02-29T00:00:00Z");
}

TEST(TransitEncode, NanosOutsideOneSecondAreCarried)
{
    EXPECT_EQ(encode_datetime(0, 1500000000), "1970-01-01T00:00:01.5Z");
    EXPECT_EQ(encode_datetime(0, -1), "1969-12-31T23:59:59.999999999Z");
    EXPECT_EQ(encode_datetime(86399, 1000000000), "1970-01-02T00:00:00Z");
}

TEST(TransitEncode, ExtremeSecondsDoNotOverflow)
{
    constexpr auto max_seconds = std::numeric_limits<std::int64_t>::max();
    constexpr auto min_seconds = std::numeric_limits<std::int64_t>::min();
    EXPECT_EQ(encode_datetime(max_seconds, 0), "292277026596-12-04T15:30:07Z");
    EXPECT_EQ(encode_datetime(max_seconds, std::numeric_limits<std::int32_t>::max()),
              "292277026596-12-04T15:30:09.147483647Z");
    EXPECT_EQ(encode_datetime(min_seconds, 0), "-292277022657-01-27T08:29:52Z");
    EXPECT_EQ(encode_datetime(min_seconds, std::numeric_limits<std::int32_t>::min()),
              "-292277022657-01-27T08:29:49.852516352Z");
}

TEST(TransitEncode, Base64IsPaddedStandardAlphabet)
{
    EXPECT_EQ(encode_base64(""), "");
    EXPECT_EQ(encode_base64("f"), "Zg==");
    EXPECT_EQ(encode_base64("fo"), "Zm8=");
    EXPECT_EQ(encode_base64("foo"), "Zm9v");
    EXPECT_EQ(encode_base64("foob"), "Zm9vYg==");
    EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
    EXPECT_EQ(encode_base64(std::string("\x00\x01\x02\x03\x04\x05", 6)), "AAECAwQF");
    EXPECT_EQ(encode_base64("\xff\xfe"), "//4=");
    EXPECT_EQ(encode_base64("\xfb\xff"), "+/8=");
}

TEST(TransitEncode, EveryTag)
{
    EXPECT_EQ(encode_transit(datetime(1420167845, 123450000)), "~t2015-01-02T03:04:05.12345Z");
    EXPECT_EQ(encode_transit(text_value(TransitTag::bytes, "foo")), "~bZm9v");
    EXPECT_EQ(encode_transit(text_value(TransitTag::uuid, "531a379e-31bb-4ce1-8690-158dceb64be6")),
              "~u531a379e-31bb-4ce1-8690-158dceb64be6");
    EXPECT_EQ(encode_transit(text_value(TransitTag::uuid, "{531A379E31BB4CE18690158DCEB64BE6}")),
              "~u531a379e-31bb-4ce1-8690-158dceb64be6");
    EXPECT_EQ(encode_transit(text_value(TransitTag::decimal, "-12.50")), "~f-12.50");
    EXPECT_EQ(encode_transit(text_value(TransitTag::uri, "http://www.sesam.io/")),
              "~rhttp://www.sesam.io/");
    EXPECT_EQ(encode_transit(text_value(TransitTag::namespaced_id, "crm:123")), "~:crm:123");
}

TEST(TransitRoundTrip, DecodeOfEncodeIsIdentity)
{
    std::string all_bytes;
    for (int b = 0; b < 256; ++b) {
        all_bytes.push_back(static_cast<char>(b));
    }
    const std::vector<TransitValue> values = {
        datetime(0),
        datetime(1420167845, 123456789),
        datetime(1438076760, 123450000),
        datetime(-1, 500000000),
        datetime(-62135596800),
        datetime(253402300799, 999999999),
        datetime(951782400, 1),
        text_value(TransitTag::bytes, all_bytes),
        text_value(TransitTag::bytes, "f"),
        text_value(TransitTag::bytes, "fo"),
        text_value(TransitTag::uuid, "531a379e-31bb-4ce1-8690-158dceb64be6"),
        text_value(TransitTag::decimal, "12345678901234567890.1234567890"),
        text_value(TransitTag::decimal, "-1E-5"),
        text_value(TransitTag::uri, "https://example.org/kari"),
        text_value(TransitTag::namespaced_id, "hr-org:42"),
    };
    for (const TransitValue& value : values) {
        EXPECT_EQ(value_of(encode_transit(value)), value) << encode_transit(value);
    }
}

TEST(TransitRoundTrip, EncodeOfDecodeIsCanonical)
{
    EXPECT_EQ(encode_transit(value_of("~t2015-07-28T09:46:00.123450000Z")),
              "~t2015-07-28T09:46:00.12345Z");
    EXPECT_EQ(encode_transit(value_of("~uurn:uuid:{531A379E31BB4CE18690158DCEB64BE6}")),
              "~u531a379e-31bb-4ce1-8690-158dceb64be6");
    EXPECT_EQ(encode_transit(value_of("~bAAECAwQF")), "~bAAECAwQF");
}

} // namespace

} // namespace sesam::emulator
