#include "emulator/entity/transit.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace sesam::emulator {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int32_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kDaysPer400Years = 146097;
// Days from 0001-01-01 to 1970-01-01 in the proleptic Gregorian calendar.
constexpr std::int64_t kEpochDaysFromYear1 = 719162;
// Longer payloads are cut in error messages: a bad 10 MB ~b value must not become a 10 MB message.
constexpr std::size_t kQuotedMax = 80;

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> kBase64Values = [] {
    std::array<signed char, 256> values{};
    values.fill(-1);
    for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) {
        values[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<signed char>(i);
    }
    return values;
}();

enum class Fault {
    none,
    empty,
    datetime_shape,
    datetime_year,
    datetime_month,
    datetime_day,
    datetime_hour,
    datetime_minute,
    datetime_second,
    decimal,
    base64_length,
    base64_alphabet,
    base64_padding,
    uuid,
};

/// What inspecting a payload learnt, kept so that decoding and error messages need no second pass.
struct Parsed {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    std::int32_t nanos = 0;
    std::array<char, 32> uuid_hex{};
    std::size_t bad_position = 0;
};

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

bool is_leap_year(int year) noexcept
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int year, int month) noexcept
{
    constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

int days_before_month(int year, int month) noexcept
{
    constexpr std::array<int, 12> kBefore = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    return kBefore[static_cast<std::size_t>(month - 1)] + (month > 2 && is_leap_year(year) ? 1 : 0);
}

/// Days from 1970-01-01 to the given date; `year` must be at least 1.
std::int64_t days_from_civil(int year, int month, int day) noexcept
{
    const std::int64_t past_years = year - 1;
    const std::int64_t days_before_year =
        365 * past_years + past_years / 4 - past_years / 100 + past_years / 400;
    return days_before_year + days_before_month(year, month) + (day - 1) - kEpochDaysFromYear1;
}

struct CivilDate {
    std::int64_t year;
    int month;
    int day;
};

CivilDate civil_from_days(std::int64_t days_since_epoch) noexcept
{
    // 400-year cycles starting at 0001-01-01; within one, three 36524-day centuries and a longer
    // fourth, 1461-day leap cycles with a short last one per century: the long pieces come last,
    // so clamping the quotients finds the year.
    std::int64_t days = days_since_epoch + kEpochDaysFromYear1;
    std::int64_t cycles = days / kDaysPer400Years;
    days %= kDaysPer400Years;
    if (days < 0) {
        days += kDaysPer400Years;
        --cycles;
    }
    const std::int64_t centuries = std::min<std::int64_t>(days / 36524, 3);
    days -= centuries * 36524;
    const std::int64_t leap_cycles = days / 1461;
    days -= leap_cycles * 1461;
    const std::int64_t years = std::min<std::int64_t>(days / 365, 3);
    days -= years * 365;

    const std::int64_t year = cycles * 400 + centuries * 100 + leap_cycles * 4 + years + 1;
    const int year_in_cycle = static_cast<int>(year - cycles * 400);
    int month = 12;
    while (days_before_month(year_in_cycle, month) > days) {
        --month;
    }
    return {year, month, static_cast<int>(days) - days_before_month(year_in_cycle, month) + 1};
}

/// Parses a run of ASCII digits (all of `s`, at most 9) into `out`.
bool parse_digits(std::string_view s, int& out) noexcept
{
    out = 0;
    for (const char c : s) {
        if (!is_digit(c)) {
            return false;
        }
        out = out * 10 + (c - '0');
    }
    return true;
}

Fault parse_datetime(std::string_view p, Parsed& t) noexcept
{
    // docs/protocol.md#transit rule 6: YYYY-MM-DD, YYYY-MM-DDZ, YYYY-MM-DDTHH:MM:SSZ,
    // YYYY-MM-DDTHH:MM:SS.<1-9>Z
    if (p.size() < 10 || !parse_digits(p.substr(0, 4), t.year) || p[4] != '-' ||
        !parse_digits(p.substr(5, 2), t.month) || p[7] != '-' ||
        !parse_digits(p.substr(8, 2), t.day)) {
        return Fault::datetime_shape;
    }
    const bool date_only = p.size() == 10 || (p.size() == 11 && p[10] == 'Z');
    if (!date_only) {
        if (p.size() < 20 || p[10] != 'T' || !parse_digits(p.substr(11, 2), t.hour) ||
            p[13] != ':' || !parse_digits(p.substr(14, 2), t.minute) || p[16] != ':' ||
            !parse_digits(p.substr(17, 2), t.second) || p.back() != 'Z') {
            return Fault::datetime_shape;
        }
        const std::string_view fraction = p.substr(19, p.size() - 20);
        if (!fraction.empty()) {
            const std::string_view digits = fraction.substr(1);
            if (fraction[0] != '.' || digits.empty() || digits.size() > 9 ||
                !parse_digits(digits, t.nanos)) {
                return Fault::datetime_shape;
            }
            for (std::size_t scale = digits.size(); scale < 9; ++scale) {
                t.nanos *= 10;
            }
        }
    }
    if (t.year < 1) {
        return Fault::datetime_year;
    }
    if (t.month < 1 || t.month > 12) {
        return Fault::datetime_month;
    }
    if (t.day < 1 || t.day > days_in_month(t.year, t.month)) {
        return Fault::datetime_day;
    }
    if (t.hour > 23) {
        return Fault::datetime_hour;
    }
    if (t.minute > 59) {
        return Fault::datetime_minute;
    }
    return t.second > 59 ? Fault::datetime_second : Fault::none;
}

bool is_decimal(std::string_view p) noexcept
{
    std::size_t i = 0;
    const auto skip_sign = [&] {
        if (i < p.size() && (p[i] == '+' || p[i] == '-')) {
            ++i;
        }
    };
    const auto count_digits = [&] {
        const std::size_t start = i;
        while (i < p.size() && is_digit(p[i])) {
            ++i;
        }
        return i - start;
    };
    skip_sign();
    std::size_t digits = count_digits();
    if (i < p.size() && p[i] == '.') {
        ++i;
        digits += count_digits();
    }
    if (digits == 0) {
        return false;
    }
    if (i < p.size() && (p[i] == 'e' || p[i] == 'E')) {
        ++i;
        skip_sign();
        if (count_digits() == 0) {
            return false;
        }
    }
    return i == p.size();
}

Fault check_base64(std::string_view p, Parsed& parsed) noexcept
{
    if (p.size() % 4 != 0) {
        return Fault::base64_length;
    }
    // find_last_not_of gives npos for all-padding input, and npos + 1 wraps to 0.
    const std::size_t data = p.find_last_not_of('=') + 1;
    if (p.size() - data > 2) {
        return Fault::base64_padding;
    }
    for (std::size_t i = 0; i < data; ++i) {
        if (kBase64Values[static_cast<unsigned char>(p[i])] < 0) {
            parsed.bad_position = i;
            return p[i] == '=' ? Fault::base64_padding : Fault::base64_alphabet;
        }
    }
    return Fault::none;
}

std::string decode_base64(std::string_view p)
{
    std::string bytes;
    bytes.reserve(p.size() / 4 * 3);
    std::uint32_t bits = 0;
    int pending = 0;
    for (const char c : p) {
        if (c == '=') {
            break;
        }
        bits =
            (bits << 6) | static_cast<std::uint32_t>(kBase64Values[static_cast<unsigned char>(c)]);
        pending += 6;
        if (pending >= 8) {
            pending -= 8;
            bytes.push_back(static_cast<char>((bits >> pending) & 0xFFU));
        }
    }
    return bytes;
}

Fault parse_uuid(std::string_view p, Parsed& parsed) noexcept
{
    // As Python's uuid.UUID(hex), which the node very probably uses, except that Python also drops
    // "urn:" and "uuid:" in mid-string and lets int() take whitespace, "_" and "0x": no real UUID
    // text looks like that.
    const auto strip_braces = [&p] {
        while (!p.empty() && (p.front() == '{' || p.front() == '}')) {
            p.remove_prefix(1);
        }
        while (!p.empty() && (p.back() == '{' || p.back() == '}')) {
            p.remove_suffix(1);
        }
    };
    strip_braces();
    if (p.starts_with("urn:")) {
        p.remove_prefix(4);
    }
    if (p.starts_with("uuid:")) {
        p.remove_prefix(5);
    }
    strip_braces();
    std::size_t count = 0;
    for (const char c : p) {
        if (c == '-') {
            continue;
        }
        const bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex || count == parsed.uuid_hex.size()) {
            return Fault::uuid;
        }
        parsed.uuid_hex[count++] = c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return count == parsed.uuid_hex.size() ? Fault::none : Fault::uuid;
}

std::string canonical_uuid(const std::array<char, 32>& hex)
{
    std::string text;
    text.reserve(36);
    for (std::size_t i = 0; i < hex.size(); ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            text.push_back('-');
        }
        text.push_back(hex[i]);
    }
    return text;
}

/// The one place that judges a payload, shared by decode_transit and check_transit so that they
/// cannot disagree.
Fault inspect(char tag, std::string_view payload, Parsed& parsed) noexcept
{
    if (payload.empty()) {
        return Fault::empty; // docs/protocol.md#transit rule 3
    }
    switch (static_cast<TransitTag>(tag)) {
    case TransitTag::datetime:
        return parse_datetime(payload, parsed);
    case TransitTag::decimal:
        return is_decimal(payload) ? Fault::none : Fault::decimal;
    case TransitTag::bytes:
        return check_base64(payload, parsed);
    case TransitTag::uuid:
        return parse_uuid(payload, parsed);
    case TransitTag::uri:
    case TransitTag::namespaced_id:
        break;
    }
    return Fault::none;
}

const char* static_message(Fault fault) noexcept
{
    switch (fault) {
    case Fault::none:
        return nullptr;
    case Fault::empty:
        return "transit value has a known tag but an empty payload";
    case Fault::datetime_shape:
        return "~t value is not one of the four ISO-8601 forms YYYY-MM-DD[Z] or "
               "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z";
    case Fault::datetime_year:
        return "~t value has year 0000 (the earliest is 0001)";
    case Fault::datetime_month:
        return "~t value has a month outside 01-12";
    case Fault::datetime_day:
        return "~t value has a day that its month does not have";
    case Fault::datetime_hour:
        return "~t value has an hour outside 00-23";
    case Fault::datetime_minute:
        return "~t value has a minute outside 00-59";
    case Fault::datetime_second:
        return "~t value has a second outside 00-59";
    case Fault::decimal:
        return "~f value is not a decimal number";
    case Fault::base64_length:
        return "~b value has a length that is not a multiple of 4";
    case Fault::base64_alphabet:
        return "~b value has a character outside the standard base64 alphabet";
    case Fault::base64_padding:
        return "~b value has '=' padding other than at most two at the end";
    case Fault::uuid:
        return "~u value is not 32 hex digits (hyphens, surrounding braces and a urn:uuid: "
               "prefix allowed)";
    }
    return nullptr;
}

/// `s` in double quotes, escaped like JSON and cut at kQuotedMax bytes on a UTF-8 boundary, so
/// that a message stays one readable line.
std::string quoted(std::string_view s)
{
    std::size_t cut = s.size();
    if (cut > kQuotedMax) {
        cut = kQuotedMax;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) {
            --cut;
        }
    }
    std::string out = "\"";
    for (const char c : s.substr(0, cut)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            constexpr std::string_view kHex = "0123456789abcdef";
            out += "\\u00";
            out += kHex[static_cast<unsigned char>(c) >> 4U];
            out += kHex[static_cast<unsigned char>(c) & 0xFU];
        } else {
            out += c;
        }
    }
    out += cut < s.size() ? "\"..." : "\"";
    return out;
}

std::string describe_fault(Fault fault, char tag, std::string_view payload, const Parsed& t)
{
    const std::string value = std::string{'~', tag} + " value " + quoted(payload);
    switch (fault) {
    case Fault::none:
        break;
    case Fault::empty:
        return "transit value \"" + std::string{'~', tag} + "\" has an empty payload";
    case Fault::datetime_shape:
        return value + " is not one of the four ISO-8601 forms YYYY-MM-DD[Z] or "
                       "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z";
    case Fault::datetime_year:
        return value + " has year 0000 (the earliest is 0001)";
    case Fault::datetime_month:
        return value + " has month " + std::to_string(t.month);
    case Fault::datetime_day:
        return value + " has day " + std::to_string(t.day) + ", but " +
               std::string(payload.substr(0, 7)) + " has " +
               std::to_string(days_in_month(t.year, t.month)) + " days";
    case Fault::datetime_hour:
        return value + " has hour " + std::to_string(t.hour);
    case Fault::datetime_minute:
        return value + " has minute " + std::to_string(t.minute);
    case Fault::datetime_second:
        return value + " has second " + std::to_string(t.second);
    case Fault::decimal:
        return value + " is not a decimal number (digits with an optional sign, fraction and "
                       "exponent)";
    case Fault::base64_length:
        return value + " has length " + std::to_string(payload.size()) +
               ", which is not a multiple of 4";
    case Fault::base64_alphabet:
        return value + " has a character outside the standard base64 alphabet at position " +
               std::to_string(t.bad_position);
    case Fault::base64_padding:
        return value + " has '=' padding other than at most two at the end";
    case Fault::uuid:
        return value + " is not 32 hex digits (hyphens, surrounding braces and a urn:uuid: "
                       "prefix allowed)";
    }
    return {};
}

} // namespace

bool is_known_transit_tag(char tag) noexcept
{
    switch (tag) {
    case ':':
    case 'r':
    case 't':
    case 'b':
    case 'u':
    case 'f':
        return true; // docs/protocol.md#transit rule 5
    default:
        return false;
    }
}

TransitDecoded decode_transit(std::string_view s)
{
    // docs/protocol.md#transit rules 2 and 4; no "~~" escape, rule 7 emulator default
    if (!looks_like_transit(s) || !is_known_transit_tag(s[1])) {
        return std::monostate{};
    }
    const char tag = s[1];
    const std::string_view payload = s.substr(2);
    Parsed parsed;
    if (const Fault fault = inspect(tag, payload, parsed); fault != Fault::none) {
        return TransitError{describe_fault(fault, tag, payload, parsed)};
    }
    TransitValue value;
    value.tag = static_cast<TransitTag>(tag);
    switch (value.tag) {
    case TransitTag::datetime:
        // docs/protocol.md#transit rule 6: a date is the same value as midnight of that day
        value.seconds = days_from_civil(parsed.year, parsed.month, parsed.day) * kSecondsPerDay +
                        parsed.hour * 3600 + parsed.minute * 60 + parsed.second;
        value.nanos = parsed.nanos;
        break;
    case TransitTag::bytes:
        value.text = decode_base64(payload);
        break;
    case TransitTag::uuid:
        value.text = canonical_uuid(parsed.uuid_hex);
        break;
    case TransitTag::decimal:
    case TransitTag::uri:
    case TransitTag::namespaced_id:
        value.text = payload;
        break;
    }
    return value;
}

const char* check_transit(std::string_view s) noexcept
{
    if (!looks_like_transit(s) || !is_known_transit_tag(s[1])) {
        return nullptr;
    }
    Parsed parsed;
    return static_message(inspect(s[1], s.substr(2), parsed));
}

std::string encode_datetime(std::int64_t seconds, std::int32_t nanos)
{
    // Division first and carries after, so that no intermediate value can overflow.
    std::int64_t days = seconds / kSecondsPerDay;
    std::int64_t second_of_day = seconds % kSecondsPerDay + nanos / kNanosPerSecond;
    nanos %= kNanosPerSecond;
    if (nanos < 0) {
        nanos += kNanosPerSecond;
        --second_of_day;
    }
    // second_of_day is now in [-86402, 86401]: carry whole days, rounding down. (One step was
    // not enough: -86399 from the remainder plus two borrowed seconds is below -86400; found by
    // the transit fuzz target in an hour-long run.)
    const std::int64_t carry = second_of_day >= 0
                                   ? second_of_day / kSecondsPerDay
                                   : -((-second_of_day + kSecondsPerDay - 1) / kSecondsPerDay);
    days += carry;
    second_of_day -= carry * kSecondsPerDay;
    const CivilDate date = civil_from_days(days);

    std::string out;
    std::array<char, 24> buffer{};
    const auto append_number = [&](std::int64_t number, std::size_t width) {
        const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
        const auto length = static_cast<std::size_t>(result.ptr - buffer.data());
        if (number >= 0 && length < width) {
            out.append(width - length, '0');
        }
        out.append(buffer.data(), length);
    };
    // docs/protocol.md#transit encoding rules: year padded to 4 digits, fraction without trailing
    // zeros
    append_number(date.year, 4);
    out += '-';
    append_number(date.month, 2);
    out += '-';
    append_number(date.day, 2);
    out += 'T';
    append_number(second_of_day / 3600, 2);
    out += ':';
    append_number(second_of_day / 60 % 60, 2);
    out += ':';
    append_number(second_of_day % 60, 2);
    if (nanos != 0) {
        out += '.';
        append_number(nanos, 9);
        out.erase(out.find_last_not_of('0') + 1);
    }
    out += 'Z';
    return out;
}

std::string encode_base64(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t chunk = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            const auto byte = j < chunk ? static_cast<unsigned char>(bytes[i + j]) : 0U;
            group = (group << 8U) | byte;
        }
        for (std::size_t j = 0; j < 4; ++j) {
            out += j <= chunk ? kBase64Alphabet[(group >> (18 - 6 * j)) & 0x3FU] : '=';
        }
    }
    return out;
}

std::string encode_transit(const TransitValue& value)
{
    // docs/protocol.md#transit encoding rules
    std::string out{'~', static_cast<char>(value.tag)};
    switch (value.tag) {
    case TransitTag::datetime:
        return out + encode_datetime(value.seconds, value.nanos);
    case TransitTag::bytes:
        return out + encode_base64(value.text);
    case TransitTag::uuid: {
        Parsed parsed;
        return out + (parse_uuid(value.text, parsed) == Fault::none
                          ? canonical_uuid(parsed.uuid_hex)
                          : value.text);
    }
    case TransitTag::decimal:
    case TransitTag::uri:
    case TransitTag::namespaced_id:
        break;
    }
    return out + value.text;
}

} // namespace sesam::emulator
