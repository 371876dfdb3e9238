// corvid_lincheck — check a recorded register history for linearizability
// with cv_lincheck (cv_lincheck.h), e.g. one written by
// tests/integration/jepsen_cas.py against a real ensemble.
//
// Usage: corvid_lincheck [--init N] [--max-states N] [--quiet] [FILE | -]
//   FILE (default, or "-": stdin) holds the history in JSON Lines.
//   --init N        value every register holds at version 0 (default 0)
//   --max-states N  search budget per register (default 0 = the checker's
//                   default, 10 million states)
//   --quiet         print only violations, give-ups and the summary line
//
// Input: one op per line, a flat JSON object; blank lines are skipped.
//   {"key":"r1","client":3,"kind":"cas","outcome":"ok","call":123,"ret":456,
//    "value":17,"expect":4,"version":5,"sync":0}
// Fields (values are JSON strings, integers, true/false or null; no nested
// objects, arrays or fractions):
//   key      string, required: the register's name; the history is split by
//            key and each register is checked on its own.
//   client   integer (int32), required: session / client id (plain reads are
//            checked per client).
//   kind     "read" | "write" | "cas", required.
//   outcome  "ok" | "fail" | "unknown", required. fail = definitely had no
//            effect (a CAS that got BADVERSION; a failed read or write is
//            ignored by the checker); unknown = timeout, connection loss, ...:
//            may have taken effect at any time after its call, or never.
//   call     integer (int64), required: invocation time, any monotonic unit
//            shared by all lines (e.g. time.monotonic_ns()).
//   ret      integer (int64): response time, >= call; required unless the
//            outcome is unknown (then ignored; may be absent or null).
//   value    integer (int64): write/cas: the value written (required); read:
//            the value read (required when ok).
//   expect   integer (int32): cas only, required: the expected version.
//   version  integer (int32): read ok: the version read (required);
//            write/cas ok: the new version reported by setData (Stat.version),
//            or -1 / absent / null when not known. Otherwise ignored.
//   sync     0 | 1 | false | true (default 0): read only: 1 = sync + getData
//            (linearizable), 0 = a plain getData (sequentially consistent
//            only; checked by the session rules of cv_lincheck.h).
// Any other field is ignored (e.g. "member", "error" for humans). A field
// given twice, a wrong type, an out-of-range number or trailing text is an
// error.
//
// Output: one line per register, in order of first appearance:
//   key r1: 1234 ops, linearizable, 5678 states explored
//   key r2: 1200 ops, VIOLATION, 91 states explored
//     op 17 (WRITE 5 OK v3, ...) cannot be linearized; ...    (the checker)
//     offending op: line 345: {"key":"r2",...}                 (the input)
//   key r3: 1300 ops, UNKNOWN (search gave up), 10000001 states explored
// then a summary line.
//
// Exit status: 0 every register linearizable; 1 at least one violation
// (takes precedence); 2 bad input (a malformed line: message with its line
// number on stderr, nothing checked), a search that gave up (-E2BIG) or ran
// out of memory, or a usage error.
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cv_lincheck.h"

namespace
{

// ---- a tiny parser for flat JSON objects ----

struct JValue {
    enum Type { STR, INT, BOOL, NUL } type = NUL;
    std::string s;
    int64_t i = 0;
    bool b = false;
};

struct Parser {
    const std::string &t;
    size_t p = 0;
    std::string err;

    explicit Parser(const std::string &text) : t(text) {}

    void ws()
    {
        while (p < t.size() && (t[p] == ' ' || t[p] == '\t' || t[p] == '\r' || t[p] == '\n'))
            p++;
    }
    bool fail(const std::string &m)
    {
        if (err.empty())
            err = m + " at column " + std::to_string(p + 1);
        return false;
    }
    bool lit(const char *w)
    {
        size_t n = strlen(w);
        if (t.compare(p, n, w) != 0)
            return false;
        p += n;
        return true;
    }
    static int hexv(char c)
    {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }
    bool str(std::string &out)
    {
        if (p >= t.size() || t[p] != '"')
            return fail("expected '\"'");
        p++;
        out.clear();
        while (true) {
            if (p >= t.size())
                return fail("unterminated string");
            char c = t[p++];
            if (c == '"')
                return true;
            if ((unsigned char)c < 0x20)
                return fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (p >= t.size())
                return fail("unterminated string");
            char e = t[p++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = 0;
                for (int k = 0; k < 4; k++) {
                    int h = p < t.size() ? hexv(t[p]) : -1;
                    if (h < 0)
                        return fail("bad \\u escape");
                    cp = cp * 16 + (unsigned)h;
                    p++;
                }
                // Keys are names: keep it simple, UTF-8 encode the BMP code point
                // (surrogate pairs are kept as two 3-byte sequences).
                if (cp < 0x80) {
                    out += (char)cp;
                } else if (cp < 0x800) {
                    out += (char)(0xC0 | (cp >> 6));
                    out += (char)(0x80 | (cp & 0x3F));
                } else {
                    out += (char)(0xE0 | (cp >> 12));
                    out += (char)(0x80 | ((cp >> 6) & 0x3F));
                    out += (char)(0x80 | (cp & 0x3F));
                }
                break;
            }
            default: return fail(std::string("bad escape '\\") + e + "'");
            }
        }
    }
    bool num(int64_t &out)
    {
        size_t s = p;
        bool neg = false;
        if (p < t.size() && t[p] == '-') {
            neg = true;
            p++;
        }
        if (p >= t.size() || t[p] < '0' || t[p] > '9')
            return fail("expected a number");
        if (t[p] == '0' && p + 1 < t.size() && t[p + 1] >= '0' && t[p + 1] <= '9')
            return fail("leading zero in number");
        uint64_t v = 0;
        const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
            unsigned d = (unsigned)(t[p] - '0');
            if (v > (lim - d) / 10) {
                p = s;
                return fail("integer out of int64 range");
            }
            v = v * 10 + d;
            p++;
        }
        if (p < t.size() && (t[p] == '.' || t[p] == 'e' || t[p] == 'E'))
            return fail("only integers are accepted");
        out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return true;
    }
    bool value(JValue &v)
    {
        if (p >= t.size())
            return fail("expected a value");
        char c = t[p];
        if (c == '"') {
            v.type = JValue::STR;
            return str(v.s);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = JValue::INT;
            return num(v.i);
        }
        if (lit("true")) {
            v.type = JValue::BOOL;
            v.b = true;
            return true;
        }
        if (lit("false")) {
            v.type = JValue::BOOL;
            v.b = false;
            return true;
        }
        if (lit("null")) {
            v.type = JValue::NUL;
            return true;
        }
        if (c == '{' || c == '[')
            return fail("nested objects and arrays are not accepted");
        return fail("expected a value");
    }
    // Parses the whole line as one flat object.
    bool object(std::map<std::string, JValue> &out)
    {
        ws();
        if (p >= t.size() || t[p] != '{')
            return fail("expected '{'");
        p++;
        ws();
        if (p < t.size() && t[p] == '}') {
            p++;
        } else {
            while (true) {
                ws();
                std::string k;
                if (!str(k))
                    return false;
                ws();
                if (p >= t.size() || t[p] != ':')
                    return fail("expected ':'");
                p++;
                ws();
                JValue v;
                if (!value(v))
                    return false;
                if (out.count(k))
                    return fail("field \"" + k + "\" given twice");
                out[k] = v;
                ws();
                if (p < t.size() && t[p] == ',') {
                    p++;
                    continue;
                }
                if (p < t.size() && t[p] == '}') {
                    p++;
                    break;
                }
                return fail("expected ',' or '}'");
            }
        }
        ws();
        if (p != t.size())
            return fail("trailing text after the object");
        return true;
    }
};

// ---- one history line -> cv_lc_op ----

struct Key {
    std::string name;
    std::vector<cv_lc_op> ops;
    std::vector<size_t> lines;
};

bool get_int(const std::map<std::string, JValue> &o, const char *f, bool required, int64_t lo,
             int64_t hi, int64_t dflt, int64_t &out, std::string &err)
{
    auto it = o.find(f);
    if (it == o.end() || it->second.type == JValue::NUL) {
        if (required) {
            err = std::string("missing field \"") + f + "\"";
            return false;
        }
        out = dflt;
        return true;
    }
    if (it->second.type != JValue::INT) {
        err = std::string("field \"") + f + "\" must be an integer";
        return false;
    }
    if (it->second.i < lo || it->second.i > hi) {
        err = std::string("field \"") + f + "\" out of range (" + std::to_string(lo) + ".." +
              std::to_string(hi) + ")";
        return false;
    }
    out = it->second.i;
    return true;
}

bool get_str(const std::map<std::string, JValue> &o, const char *f, std::string &out,
             std::string &err)
{
    auto it = o.find(f);
    if (it == o.end() || it->second.type == JValue::NUL) {
        err = std::string("missing field \"") + f + "\"";
        return false;
    }
    if (it->second.type != JValue::STR) {
        err = std::string("field \"") + f + "\" must be a string";
        return false;
    }
    out = it->second.s;
    return true;
}

bool to_op(const std::map<std::string, JValue> &o, std::string &key, cv_lc_op &op, std::string &err)
{
    op = cv_lc_op{};
    std::string kind, outcome;
    int64_t v;
    if (!get_str(o, "key", key, err) || !get_str(o, "kind", kind, err) ||
        !get_str(o, "outcome", outcome, err))
        return false;
    if (kind == "read")
        op.kind = CV_LC_READ;
    else if (kind == "write")
        op.kind = CV_LC_WRITE;
    else if (kind == "cas")
        op.kind = CV_LC_CAS;
    else {
        err = "kind must be \"read\", \"write\" or \"cas\", not \"" + kind + "\"";
        return false;
    }
    if (outcome == "ok")
        op.outcome = CV_LC_OK;
    else if (outcome == "fail")
        op.outcome = CV_LC_FAIL;
    else if (outcome == "unknown")
        op.outcome = CV_LC_UNKNOWN;
    else {
        err = "outcome must be \"ok\", \"fail\" or \"unknown\", not \"" + outcome + "\"";
        return false;
    }
    if (!get_int(o, "client", true, INT32_MIN, INT32_MAX, 0, v, err))
        return false;
    op.client = (int32_t)v;
    if (!get_int(o, "call", true, INT64_MIN, INT64_MAX, 0, op.call, err))
        return false;
    bool unknown = op.outcome == CV_LC_UNKNOWN;
    if (!get_int(o, "ret", !unknown, INT64_MIN, INT64_MAX, op.call, op.ret, err))
        return false;
    if (!unknown && op.ret < op.call) {
        err =
            "ret (" + std::to_string(op.ret) + ") is before call (" + std::to_string(op.call) + ")";
        return false;
    }
    bool need_value = op.kind != CV_LC_READ || op.outcome == CV_LC_OK;
    if (!get_int(o, "value", need_value, INT64_MIN, INT64_MAX, 0, op.value, err))
        return false;
    if (!get_int(o, "expect", op.kind == CV_LC_CAS, -1, INT32_MAX, 0, v, err))
        return false;
    op.expect = (int32_t)v;
    bool need_version = op.kind == CV_LC_READ && op.outcome == CV_LC_OK;
    if (!get_int(o, "version", need_version, need_version ? 0 : -1, INT32_MAX, -1, v, err))
        return false;
    op.version = (int32_t)v;
    if (op.kind == CV_LC_READ && op.outcome != CV_LC_OK)
        op.version = -1;
    auto it = o.find("sync");
    op.sync = 0;
    if (it != o.end() && it->second.type != JValue::NUL) {
        if (it->second.type == JValue::BOOL)
            op.sync = it->second.b ? 1 : 0;
        else if (it->second.type == JValue::INT && (it->second.i == 0 || it->second.i == 1))
            op.sync = (uint8_t)it->second.i;
        else {
            err = "field \"sync\" must be 0, 1, false or true";
            return false;
        }
    }
    if (op.kind != CV_LC_READ)
        op.sync = 0;
    return true;
}

void usage(FILE *f)
{
    fprintf(f, "usage: corvid_lincheck [--init N] [--max-states N] [--quiet] [FILE | -]\n"
               "  checks a JSON Lines register history (format: tests/sim/lincheck_main.cc)\n"
               "  exit 0 linearizable, 1 violation, 2 bad input / search gave up\n");
}

bool parse_i64(const char *s, int64_t &out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    out = v;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    int64_t init = 0, max_states = 0;
    bool quiet = false;
    const char *path = nullptr;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--init" || a == "--max-states") {
            int64_t v;
            if (i + 1 >= argc || !parse_i64(argv[i + 1], v) || (a == "--max-states" && v < 0)) {
                fprintf(stderr, "corvid_lincheck: %s needs an integer argument\n", a.c_str());
                return 2;
            }
            (a == "--init" ? init : max_states) = v;
            i++;
        } else if (a.rfind("--init=", 0) == 0 || a.rfind("--max-states=", 0) == 0) {
            size_t eq = a.find('=');
            int64_t v;
            if (!parse_i64(a.c_str() + eq + 1, v) || (a[2] == 'm' && v < 0)) {
                fprintf(stderr, "corvid_lincheck: bad %s\n", a.c_str());
                return 2;
            }
            (a[2] == 'i' ? init : max_states) = v;
        } else if (a == "--quiet" || a == "-q") {
            quiet = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a != "-" && a.size() > 1 && a[0] == '-') {
            fprintf(stderr, "corvid_lincheck: unknown option %s\n", a.c_str());
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "corvid_lincheck: more than one input file\n");
            return 2;
        } else {
            path = argv[i];
        }
    }

    std::ifstream file;
    std::istream *in = &std::cin;
    std::string src = "<stdin>";
    if (path && strcmp(path, "-") != 0) {
        file.open(path);
        if (!file) {
            fprintf(stderr, "corvid_lincheck: cannot open %s: %s\n", path, strerror(errno));
            return 2;
        }
        in = &file;
        src = path;
    }

    // Read everything first: a malformed line means nothing is checked.
    std::vector<Key> keys;
    std::map<std::string, size_t> key_index;
    std::vector<std::string> text; // every line, for quoting the offending op
    std::string line;
    size_t lineno = 0, nops = 0;
    while (std::getline(*in, line)) {
        lineno++;
        text.push_back(line);
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        Parser ps(line);
        std::map<std::string, JValue> obj;
        std::string err, key;
        cv_lc_op op;
        if (!ps.object(obj)) {
            err = ps.err;
        } else if (!to_op(obj, key, op, err)) {
            // err set
        } else {
            auto it = key_index.find(key);
            size_t k;
            if (it == key_index.end()) {
                k = keys.size();
                key_index[key] = k;
                keys.push_back(Key{key, {}, {}});
            } else {
                k = it->second;
            }
            keys[k].ops.push_back(op);
            keys[k].lines.push_back(lineno);
            nops++;
            continue;
        }
        fprintf(stderr, "corvid_lincheck: %s:%zu: malformed op: %s\n", src.c_str(), lineno,
                err.c_str());
        return 2;
    }
    if (in->bad()) {
        fprintf(stderr, "corvid_lincheck: read error on %s\n", src.c_str());
        return 2;
    }

    size_t n_ok = 0, n_bad = 0, n_gaveup = 0;
    for (const Key &k : keys) {
        cv_lc_result res{};
        int rc = cv_lc_check(k.ops.data(), k.ops.size(), init, (uint64_t)max_states, &res);
        if (rc == 1) {
            n_ok++;
            if (!quiet)
                printf("key %s: %zu ops, linearizable, %" PRIu64 " states explored\n",
                       k.name.c_str(), k.ops.size(), res.explored);
        } else if (rc == 0) {
            n_bad++;
            printf("key %s: %zu ops, VIOLATION, %" PRIu64 " states explored\n", k.name.c_str(),
                   k.ops.size(), res.explored);
            printf("  %s\n", res.why);
            if (res.bad >= 0 && (size_t)res.bad < k.ops.size()) {
                size_t ln = k.lines[(size_t)res.bad];
                printf("  offending op (op %" PRId64 " of key %s): line %zu: %s\n", res.bad,
                       k.name.c_str(), ln, text[ln - 1].c_str());
            }
        } else {
            n_gaveup++;
            const char *what = rc == -E2BIG    ? "UNKNOWN (search gave up)"
                               : rc == -ENOMEM ? "UNKNOWN (out of memory)"
                                               : "UNKNOWN (checker rejected the ops)";
            printf("key %s: %zu ops, %s, %" PRIu64 " states explored\n", k.name.c_str(),
                   k.ops.size(), what, res.explored);
            if (res.why[0])
                printf("  %s\n", res.why);
        }
    }
    printf("%zu ops, %zu keys: %zu linearizable, %zu violations, %zu undecided\n", nops,
           keys.size(), n_ok, n_bad, n_gaveup);
    fflush(stdout);
    if (n_bad)
        return 1;
    if (n_gaveup)
        return 2;
    return 0;
}
