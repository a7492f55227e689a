/* parsers._fastrow: the Rust evtx backend's common record shape → one timeline row.
 *
 * An optional accelerator of parsers/evtx.py. ``row(rid, ev)`` takes a record as orjson
 * decoded the Rust reader's JSON and returns the 15-value tuple ``_Columns`` stores for
 * it (time, host, record_id, provider, channel, event_id, level, user, sid, session_id,
 * pid, ip, port, message, data): what ``_fast_row`` + ``_Columns.row`` give in Python.
 * It returns None for anything it does not handle *exactly* as the Python path does (an
 * odd record shape, a value that is neither text nor a 64-bit integer, ...): the caller
 * then takes the Python path. Text that eventcommon folds by Unicode rules (non-ASCII
 * messages, user names, addresses) is handed to eventcommon's own functions. So this file
 * adds no behaviour of its own: tests/test_fastrow.py compares the two paths on every
 * record of the corpus and of generated logs, and on generated odd values. Where the two
 * differ, the Python path is right.
 *
 * It reads Python objects (dicts, str, int) that orjson made, or (``row_json``) the JSON
 * text the Rust reader wrote, never the log's bytes. ``row_json`` takes only JSON that
 * orjson + ``row`` would read to the same row, byte for byte, and leaves the rest to them.
 *
 * Why C: in Python this per-record work (the System mapping, the fields' JSON text, the
 * one-line message, the user/ip/session columns) costs ≈ 8 µs a record against ≈ 1.7 µs
 * for the Rust reader itself; docs/performance.md has the measurements and what was
 * tried first (Cython on the unchanged code, msgspec, pyarrow/polars/DuckDB kernels).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define LIMIT 300          /* data_message's ``limit`` */

/* ------------------------------------------------------------------ names */

static PyObject *K_Event, *K_System, *K_UserData, *K_Provider, *K_attributes, *K_TimeCreated,
    *K_SystemTime, *K_EventID, *K_EventRecordID, *K_Level, *K_EventSourceName, *K_EventData,
    *K_Correlation, *K_ActivityID, *K_Execution, *K_ProcessID, *K_Security, *K_UserID,
    *K_Channel, *K_text, *K_Computer, *K_Name, *K_1601, *K_empty;

/* The field names this file looks at: event_columns' candidates in eventcommon's priority
 * order (users with their domains, SIDs, addresses, sessions, the port), RCM's ParamN,
 * TermDD's param2, the System extras a field may collide with, and the keys that make a
 * record another shape (unnamed data, binary data, attributes). */
enum {
    F_TargetUserName, F_TargetDomainName, F_AccountName, F_AccountDomain, F_User,
    F_UserName, F_Domain, F_SubjectUserName, F_SubjectDomainName,
    F_TargetUserSid, F_UserSid,
    F_IpAddress, F_ClientIP, F_ClientAddress, F_Address, F_IPString, F_SourceAddress,
    F_ClientIp, F_IPAddress,
    F_SessionID, F_SessionId, F_Session, F_TargetSession,
    F_IpPort,
    F_Param1, F_Param2, F_Param3, F_param2,
    F_ActivityID, F_EventRecordID, F_Qualifiers, F_EventSourceName,
    F_Data, F_Binary, F_attributes,
    NF
};
static const char *const FNAMES[NF] = {
    "TargetUserName", "TargetDomainName", "AccountName", "AccountDomain", "User",
    "UserName", "Domain", "SubjectUserName", "SubjectDomainName",
    "TargetUserSid", "UserSid",
    "IpAddress", "ClientIP", "ClientAddress", "Address", "IPString", "SourceAddress",
    "ClientIp", "IPAddress",
    "SessionID", "SessionId", "Session", "TargetSession",
    "IpPort",
    "Param1", "Param2", "Param3", "param2",
    "ActivityID", "EventRecordID", "Qualifiers", "EventSourceName",
    "Data", "Binary", "#attributes",
};
/* (user, domain) pairs in priority order; -1: no domain */
static const int USERS[][2] = {{F_TargetUserName, F_TargetDomainName},
                               {F_AccountName, F_AccountDomain}, {F_User, -1},
                               {F_UserName, F_Domain},
                               {F_SubjectUserName, F_SubjectDomainName}};
#define N_USER 5
/* eventcommon._ALL_KEYS: F_TargetUserName .. F_IpPort */
#define N_ALL_KEYS (F_IpPort + 1)

#define MAXLEN 32
#define PER_LEN 12
static signed char BY_LEN[MAXLEN][PER_LEN];  /* per name length: FNAMES indices, -1 ends */

/* the FNAMES index of a key, or -1 */
static inline int classify(PyObject *k)
{
    if (!PyUnicode_IS_ASCII(k)) return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(k);
    if (n >= MAXLEN) return -1;
    const char *s = (const char *)PyUnicode_DATA(k);
    for (const signed char *i = BY_LEN[n]; *i >= 0; i++)
        if (FNAMES[*i][0] == s[0] && memcmp(FNAMES[*i], s, n) == 0) return *i;
    return -1;
}

/* the Python functions this file hands Unicode text to (set by configure()) */
static PyObject *py_data_message, *py_event_columns;
static Py_ssize_t value_cap = 64 << 10;

/* ------------------------------------------------------------------ byte buffer */

typedef struct {
    char *p;
    Py_ssize_t n, cap;
    int ascii;             /* nothing but ASCII written so far */
    char small[1024];
} Buf;

static void buf_init(Buf *b)
{
    b->p = b->small;
    b->n = 0;
    b->cap = (Py_ssize_t)sizeof b->small;
    b->ascii = 1;
}

static void buf_free(Buf *b) { if (b->p != b->small) PyMem_Free(b->p); }

static int buf_room(Buf *b, Py_ssize_t need)
{
    if (b->n + need <= b->cap) return 0;
    Py_ssize_t cap = b->cap * 2;
    while (cap < b->n + need) cap *= 2;
    char *q;
    if (b->p == b->small) {
        q = PyMem_Malloc(cap);
        if (q) memcpy(q, b->p, b->n);
    } else {
        q = PyMem_Realloc(b->p, cap);
    }
    if (!q) { PyErr_NoMemory(); return -1; }
    b->p = q;
    b->cap = cap;
    return 0;
}

/* ASCII bytes only (the caller's literals) */
static int buf_put(Buf *b, const char *s, Py_ssize_t n)
{
    if (buf_room(b, n)) return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static int buf_ll(Buf *b, long long x)
{
    char tmp[24], *w = tmp + sizeof tmp;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do { *--w = (char)('0' + u % 10); u /= 10; } while (u);
    if (x < 0) *--w = '-';
    return buf_put(b, w, tmp + sizeof tmp - w);
}

/* the buffer as a new str */
static PyObject *buf_str(Buf *b)
{
    if (b->ascii) {
        PyObject *s = PyUnicode_New(b->n, 127);
        if (s) memcpy(PyUnicode_DATA(s), b->p, b->n);
        return s;
    }
    return PyUnicode_DecodeUTF8(b->p, b->n, "strict");
}

/* ------------------------------------------------------------------ orjson's JSON */

/* one string, quoted and escaped as orjson escapes it: 1 done, 0 not valid UTF-8 (lone
 * surrogates: orjson refuses them, the caller falls back), -1 error */
static int put_json_str(Buf *b, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
        PyErr_Clear();
        return 0;
    }
    if (!PyUnicode_IS_ASCII(s)) b->ascii = 0;
    if (buf_room(b, 2 + n * 6)) return -1;
    char *w = b->p + b->n;
    *w++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c >= 0x20 && c != '"' && c != '\\') { *w++ = (char)c; continue; }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\t': *w++ = 't'; break;
        case '\n': *w++ = 'n'; break;
        case '\f': *w++ = 'f'; break;
        case '\r': *w++ = 'r'; break;
        default: {
            static const char hex[] = "0123456789abcdef";
            *w++ = 'u'; *w++ = '0'; *w++ = '0';
            *w++ = hex[c >> 4]; *w++ = hex[c & 15];
        }
        }
    }
    *w++ = '"';
    b->n = w - b->p;
    return 1;
}

/* a str, an int within 64 bits or a bool: 1 done, 0 another value (the caller falls
 * back), -1 error */
static int put_json_value(Buf *b, PyObject *v)
{
    if (PyUnicode_CheckExact(v)) return put_json_str(b, v);
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) return 0;
        if (x == -1 && PyErr_Occurred()) return -1;
        return buf_ll(b, x) < 0 ? -1 : 1;
    }
    if (v == Py_True) return buf_put(b, "true", 4) < 0 ? -1 : 1;
    if (v == Py_False) return buf_put(b, "false", 5) < 0 ? -1 : 1;
    return 0;
}

/* ------------------------------------------------------------------ the fields */

typedef struct {
    PyObject *slot[NF];    /* the kept value of each known name (borrowed), or NULL */
    Py_ssize_t kept;       /* fields kept (not None, not "") */
    int dropped;           /* some None / "" values were left out */
    int known;             /* some kept field has a known name */
} Fields;

/* ``_fast_row``'s EventData: named values only, None and "" left out; their orjson text
 * into b (nothing when none is kept). 1 done, 0 another shape or value (fall back), -1 error */
static int scan_fields(PyObject *ed, Buf *b, Fields *f)
{
    memset(f, 0, sizeof *f);
    if (!ed || ed == Py_None) return 1;
    if (!PyDict_CheckExact(ed)) return 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(ed, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return 0;
        int i = classify(k);
        if (i >= F_Data || PyDict_CheckExact(v)) return 0;
        if (v == Py_None || (PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) == 0)) {
            f->dropped = 1;
            continue;
        }
        if (buf_put(b, f->kept ? "," : "{", 1) < 0) return -1;
        int r = put_json_str(b, k);
        if (r <= 0) return r;
        if (buf_put(b, ":", 1) < 0) return -1;
        if ((r = put_json_value(b, v)) <= 0) return r;
        f->kept++;
        if (i >= 0) {
            f->slot[i] = v;
            f->known = 1;
        }
    }
    return f->kept && buf_put(b, "}", 1) < 0 ? -1 : 1;
}

/* the fields as the Python path holds them (for eventcommon): ed, or ed without its None
 * and "" values; new reference */
static PyObject *fields_dict(PyObject *ed, const Fields *f)
{
    if (!f->dropped) { Py_INCREF(ed); return ed; }
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(ed, &pos, &k, &v)) {
        if (v == Py_None || (PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) == 0)) continue;
        if (PyDict_SetItem(d, k, v) < 0) { Py_DECREF(d); return NULL; }
    }
    return d;
}

/* ``_flatten(prefix, v, out)``: a UserData element's leaves as flat ``name: value`` pairs
 * (attributes as ``element.attribute``). 1 done, 0 fall back, -1 error */
static int flatten(PyObject *prefix, PyObject *v, PyObject *out, int depth)
{
    if (depth > 32) return 0;
    int has_prefix = PyUnicode_GET_LENGTH(prefix) > 0;
    if (!PyDict_CheckExact(v)) {
        if (v == Py_None || !has_prefix || (PyUnicode_CheckExact(v) && !PyUnicode_GET_LENGTH(v)))
            return 1;
        if (PyDict_GetItemWithError(out, prefix)) return 0;   /* a repeated element: a list */
        if (PyErr_Occurred()) return -1;
        return PyDict_SetItem(out, prefix, v) < 0 ? -1 : 1;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *x;
    while (PyDict_Next(v, &pos, &k, &x)) {
        if (!PyUnicode_CheckExact(k)) return 0;
        if (PyUnicode_CompareWithASCIIString(k, "#attributes") == 0) {
            if (!PyDict_CheckExact(x)) return 0;
            Py_ssize_t apos = 0;
            PyObject *a, *av;
            while (PyDict_Next(x, &apos, &a, &av)) {
                if (!PyUnicode_CheckExact(a)) return 0;
                if (PyUnicode_CompareWithASCIIString(a, "xmlns") == 0 || av == Py_None
                    || (PyUnicode_CheckExact(av) && !PyUnicode_GET_LENGTH(av)))
                    continue;
                PyObject *key = has_prefix ? PyUnicode_FromFormat("%U.%U", prefix, a) : a;
                if (!key) return -1;
                if (has_prefix) {
                    int r = PyDict_SetItem(out, key, av);
                    Py_DECREF(key);
                    if (r < 0) return -1;
                } else if (PyDict_SetItem(out, key, av) < 0) {
                    return -1;
                }
            }
        } else if (PyUnicode_CompareWithASCIIString(k, "#text") == 0) {
            if (x != Py_None && has_prefix && !(PyUnicode_CheckExact(x) && !PyUnicode_GET_LENGTH(x))
                && PyDict_SetItem(out, prefix, x) < 0)
                return -1;
        } else {
            int r = flatten(k, x, out, depth + 1);
            if (r <= 0) return r;
        }
    }
    return 1;
}

/* ``_rec_from_json``'s fields of a record with UserData and no EventData: a new dict, or
 * Py_None (borrowed: fall back), NULL on error */
static PyObject *user_data(PyObject *ud)
{
    if (!PyDict_CheckExact(ud)) return Py_None;
    PyObject *out = PyDict_New();
    if (!out) return NULL;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(ud, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) { Py_DECREF(out); return Py_None; }
        if (PyUnicode_CompareWithASCIIString(k, "#attributes") == 0) continue;
        int r = flatten(K_empty, v, out, 0);
        if (r <= 0) {
            Py_DECREF(out);
            return r < 0 ? NULL : Py_None;
        }
    }
    return out;
}

/* ------------------------------------------------------------------ data_message */

/* left-to-right, non-overlapping str.replace in place (new is never longer than old;
 * old is 1 to 3 characters) */
static Py_ssize_t replace(char *s, Py_ssize_t n, const char *old, Py_ssize_t on,
                          const char *new, Py_ssize_t nn)
{
    char *end = s + n, *r = s, *w = s;
    for (;;) {
        char *q = memchr(r, old[0], end - r);
        /* (on ≤ 3: compared inline; a memcmp call per quote was 2 % of a Security log's
         * load) */
        while (q && !(end - q >= on && (on < 2 || q[1] == old[1]) && (on < 3 || q[2] == old[2])))
            q = memchr(q + 1, old[0], end - q - 1);
        if (!q) break;
        if (w != r) memmove(w, r, q - r);
        w += q - r;
        memcpy(w, new, nn);
        w += nn;
        r = q + on;
    }
    if (w != r) memmove(w, r, end - r);
    return (w - s) + (end - r);
}

/* str.isspace() of an ASCII character */
static inline int ascii_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

/* ``f"{provider or '?'} {eid}"`` into m; its length in characters, -1 error, -2 the
 * provider is no valid text (the caller falls back) */
static Py_ssize_t put_head(Buf *m, PyObject *provider, long eid)
{
    Py_ssize_t chars = 1;
    if (provider != Py_None && PyUnicode_GET_LENGTH(provider)) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(provider, &n);
        if (!u) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
            PyErr_Clear();
            return -2;
        }
        if (buf_put(m, u, n) < 0) return -1;
        m->ascii = PyUnicode_IS_ASCII(provider);
        chars = PyUnicode_GET_LENGTH(provider);
    } else if (buf_put(m, "?", 1) < 0) {
        return -1;
    }
    Py_ssize_t before = m->n;
    if (buf_put(m, " ", 1) < 0 || buf_ll(m, eid) < 0) return -1;
    return chars + (m->n - before);
}

/* eventcommon.data_message of the fields' ASCII JSON text t[0..n), appended to m (which
 * holds the head, of hc characters). 1 done, 0 not handled here, -1 error. */
static int data_message(Buf *m, Py_ssize_t hc, const char *t, Py_ssize_t n)
{
    if (n < 3) return 1;
    Py_ssize_t room = LIMIT - hc - 2;
    if (room < 2) return 0;     /* a provider name of ~300 characters: Python's slicing */
    /* body = text[1:room + 40] */
    Py_ssize_t bn = (room + 40 < n ? room + 40 : n) - 1;
    char stack[LIMIT + 64];
    char *body = stack;
    memcpy(body, t + 1, bn);
    int whole = bn == n - 1;
    if (whole) bn--;                                   /* the closing brace */
    if (bn > 0 && body[0] == '"') { body++; bn--; }
    if (whole && bn > 0 && body[bn - 1] == '"' && !(bn >= 2 && body[bn - 2] == '\\'))
        bn--;
    bn = replace(body, bn, "\",\"", 3, ", ", 2);
    bn = replace(body, bn, "\":\"", 3, "=", 1);
    bn = replace(body, bn, "\":", 2, "=", 1);
    bn = replace(body, bn, ",\"", 2, ", ", 2);
    if (memchr(body, '\\', bn)) {
        bn = replace(body, bn, "\\\\", 2, "\0", 1);
        bn = replace(body, bn, "\\r", 2, " ", 1);
        bn = replace(body, bn, "\\n", 2, " ", 1);
        bn = replace(body, bn, "\\t", 2, " ", 1);
        bn = replace(body, bn, "\\\"", 2, "\"", 1);
        bn = replace(body, bn, "\0", 1, "\\", 1);
        int runs = 0;
        for (Py_ssize_t i = 0; i + 1 < bn && !runs; i++)
            runs = body[i] == ' ' && body[i + 1] == ' ';
        if (runs) {                                    /* " ".join(body.split()) */
            Py_ssize_t w = 0, r = 0;
            while (r < bn) {
                while (r < bn && ascii_space((unsigned char)body[r])) r++;
                if (r >= bn) break;
                if (w) body[w++] = ' ';
                while (r < bn && !ascii_space((unsigned char)body[r])) body[w++] = body[r++];
            }
            bn = w;
        }
    }
    if (buf_put(m, ": ", 2) < 0) return -1;
    if (bn <= room && whole) return buf_put(m, body, bn) < 0 ? -1 : 1;
    if (buf_put(m, body, bn < room - 1 ? bn : room - 1) < 0
        || buf_put(m, "\xe2\x80\xa6", 3) < 0) return -1;
    m->ascii = 0;                                      /* "…" */
    return 1;
}

/* ------------------------------------------------------------------ event_columns */

static const char *const NULLISH[] = {"", "-", "NULL", "null", "N/A", "%%1793"};

/* A value's text as ``_clean`` gives it, for ASCII text, ints and bools. 1: *p and *n set (*p
 * NULL when _clean gives None); 0: not handled here; -1: error. *tmp: a new reference the
 * caller frees (an int's text). */
static int clean(PyObject *v, const char **p, Py_ssize_t *n, PyObject **tmp)
{
    *p = NULL;
    *n = 0;
    if (!v || v == Py_None) return 1;
    if (PyBool_Check(v)) {                           /* str(True) */
        *p = v == Py_True ? "True" : "False";
        *n = v == Py_True ? 4 : 5;
        return 1;
    }
    if (PyLong_CheckExact(v)) {
        *tmp = PyObject_Str(v);
        if (!*tmp) return -1;
        v = *tmp;
    } else if (!PyUnicode_CheckExact(v)) {
        return 0;
    }
    if (!PyUnicode_IS_ASCII(v)) return 0;
    const char *s = (const char *)PyUnicode_DATA(v);
    Py_ssize_t len = PyUnicode_GET_LENGTH(v);
    while (len && ascii_space((unsigned char)s[0])) { s++; len--; }
    while (len && ascii_space((unsigned char)s[len - 1])) len--;
    for (size_t i = 0; i < sizeof NULLISH / sizeof *NULLISH; i++)
        if ((Py_ssize_t)strlen(NULLISH[i]) == len && memcmp(NULLISH[i], s, len) == 0)
            return 1;
    *p = s;
    *n = len;
    return 1;
}

static inline int ip_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
        || c == ':' || c == '.' || c == '%';
}

/* eventcommon.split_endpoint of stripped, non-empty ASCII text: the address at *ipo, *ipn
 * long (0: none), *port (-1: none) */
static void split_endpoint(const char *v, Py_ssize_t n, Py_ssize_t *ipo, Py_ssize_t *ipn,
                           long *port)
{
    *ipo = 0; *ipn = 0; *port = -1;
    int colons = 0, plain = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (v[i] == ':') colons++;
        if (!((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) plain = 0;
    }
    if (!colons && v[0] >= '0' && v[0] <= '9' && plain) { *ipn = n; return; }
    if (colons > 1 && v[0] != '[') { *ipn = n; return; }
    /* ^\[?(?P<ip>[0-9a-fA-F:.%]+?)\]?(?::(?P<port>\d{1,5}))?$ : the shortest address after
     * which the rest is "", "]", ":port" or "]:port" */
    Py_ssize_t s = v[0] == '[' ? 1 : 0;
    for (Py_ssize_t e = s + 1; e <= n && ip_char((unsigned char)v[e - 1]); e++) {
        Py_ssize_t r = e;
        if (r < n && v[r] == ']') r++;
        if (r == n) { *ipo = s; *ipn = e - s; return; }
        if (v[r] == ':' && n - r - 1 >= 1 && n - r - 1 <= 5) {
            long p = 0;
            Py_ssize_t k;
            for (k = r + 1; k < n && v[k] >= '0' && v[k] <= '9'; k++) p = p * 10 + (v[k] - '0');
            if (k == n) { *ipo = s; *ipn = e - s; *port = p; return; }
        }
    }
}

static inline int eq_upper(const char *s, Py_ssize_t n, const char *upper)
{
    if ((Py_ssize_t)strlen(upper) != n) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z') c -= 32;
        if (c != upper[i]) return 0;
    }
    return 1;
}

/* str.lower().endswith(lower) of ASCII text; -1: not ASCII */
static int ends_with_lower(PyObject *s, const char *lower)
{
    if (!PyUnicode_IS_ASCII(s)) return -1;
    Py_ssize_t k = (Py_ssize_t)strlen(lower), n = PyUnicode_GET_LENGTH(s);
    if (n < k) return 0;
    const char *p = (const char *)PyUnicode_DATA(s) + n - k;
    for (Py_ssize_t i = 0; i < k; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c != lower[i]) return 0;
    }
    return 1;
}

/* int(v), or int(v, 0) for "0x...", of ASCII text: 1 parsed, 0 ValueError, 2 not handled */
static int parse_int(const char *v, Py_ssize_t n, long long *out)
{
    if (memchr(v, '_', n)) return 2;
    if (n >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        if (n == 2) return 0;
        if (n - 2 > 15) return 2;
        long long x = 0;
        for (Py_ssize_t i = 2; i < n; i++) {
            char c = v[i];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return 0;
            x = x * 16 + d;
        }
        *out = x;
        return 1;
    }
    Py_ssize_t i = 0;
    int neg = 0;
    if (n && (v[0] == '+' || v[0] == '-')) { neg = v[0] == '-'; i = 1; }
    if (i == n) return 0;
    if (n - i > 18) return 2;
    long long x = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        x = x * 10 + (v[i] - '0');
    }
    *out = neg ? -x : x;
    return 1;
}

typedef struct {
    PyObject *user, *sid, *ip, *port, *session;   /* new references or NULL */
} Cols;

static void cols_clear(Cols *c)
{
    Py_CLEAR(c->user); Py_CLEAR(c->sid); Py_CLEAR(c->ip); Py_CLEAR(c->port);
    Py_CLEAR(c->session);
}

/* ``f"{d}\\{u}"`` (d NULL: u) of ASCII text, a new str */
static PyObject *user_text(const char *d, Py_ssize_t dn, const char *u, Py_ssize_t un)
{
    if (!d) return PyUnicode_FromStringAndSize(u, un);
    PyObject *s = PyUnicode_New(dn + 1 + un, 127);
    if (!s) return NULL;
    char *w = (char *)PyUnicode_DATA(s);
    memcpy(w, d, dn);
    w[dn] = '\\';
    memcpy(w + dn + 1, u, un);
    return s;
}

#define CLEAN(v)                                                        \
    do {                                                                \
        Py_CLEAR(tmp);                                                  \
        int r_ = clean((v), &s, &sn, &tmp);                             \
        if (r_ <= 0) { Py_XDECREF(tmp); return r_; }                    \
    } while (0)

/* eventcommon.event_columns over the known fields' values x[]: 1 done (c filled), 0 not
 * handled here, -1 error */
static int event_columns(PyObject *provider, long eid, PyObject *const *x, Cols *c)
{
    PyObject *tmp = NULL;
    const char *s;
    Py_ssize_t sn, o, k;
    long port;
    int rcm = 0;
    if (provider != Py_None && (rcm = ends_with_lower(provider, "remoteconnectionmanager")) < 0)
        return 0;
    int present = 0;
    for (int i = 0; i < N_ALL_KEYS && !present; i++) present = x[i] != NULL;
    if (!present && !rcm) {
        if (eid == 56 && provider != Py_None) {         /* TermDD's unnamed param2 */
            int td = ends_with_lower(provider, "termdd");
            if (td < 0) return 0;
            if (td && PyUnicode_GET_LENGTH(provider) == 6) {
                CLEAN(x[F_param2]);
                if (s) {
                    split_endpoint(s, sn, &o, &k, &port);
                    if (k && !(c->ip = PyUnicode_FromStringAndSize(s + o, k))) goto error;
                }
            }
        }
        Py_XDECREF(tmp);
        return 1;
    }
    for (int i = 0; i < N_USER; i++) {
        PyObject *u = x[USERS[i][0]];
        if (!u) continue;
        CLEAN(u);
        if (!s) continue;
        const char *us = s;
        Py_ssize_t un = sn;
        PyObject *utmp = tmp;
        tmp = NULL;
        PyObject *d = USERS[i][1] >= 0 ? x[USERS[i][1]] : NULL;
        int r = clean(d, &s, &sn, &tmp);
        if (r <= 0) { Py_XDECREF(utmp); Py_XDECREF(tmp); return r; }
        c->user = user_text(s && !memchr(us, '\\', un) ? s : NULL, sn, us, un);
        Py_XDECREF(utmp);
        if (!c->user) goto error;
        break;
    }
    if (rcm && !c->user) {
        CLEAN(x[F_Param1]);
        if (s) {
            const char *us = s;
            Py_ssize_t un = sn;
            PyObject *utmp = tmp;
            tmp = NULL;
            int r = clean(x[F_Param2], &s, &sn, &tmp);
            if (r <= 0) { Py_XDECREF(utmp); Py_XDECREF(tmp); return r; }
            c->user = user_text(s, sn, us, un);
            Py_XDECREF(utmp);
            if (!c->user) goto error;
        }
    }
    for (int i = F_TargetUserSid; i <= F_UserSid; i++) {
        if (!x[i]) continue;
        CLEAN(x[i]);
        if (!s) continue;
        if (sn >= 4 && memcmp(s, "S-1-", 4) == 0 && !(c->sid = PyUnicode_FromStringAndSize(s, sn)))
            goto error;
        break;
    }
    for (int i = F_IpAddress; i <= F_IPAddress; i++) {
        if (!x[i]) continue;
        CLEAN(x[i]);
        if (!s || eq_upper(s, sn, "LOCAL")) continue;
        split_endpoint(s, sn, &o, &k, &port);
        if (!k) continue;
        if (!(c->ip = PyUnicode_FromStringAndSize(s + o, k))) goto error;
        if (port >= 0 && !(c->port = PyLong_FromLong(port))) goto error;
        break;
    }
    if (rcm && !c->ip) {
        CLEAN(x[F_Param3]);
        if (s) {
            split_endpoint(s, sn, &o, &k, &port);
            if (k && !(c->ip = PyUnicode_FromStringAndSize(s + o, k))) goto error;
        }
    }
    if (x[F_IpPort] && !c->port) {
        CLEAN(x[F_IpPort]);
        if (s) {                                     /* p.isdecimal() and 0 < int(p) < 65536 */
            long v = 0;
            Py_ssize_t i;
            for (i = 0; i < sn && s[i] >= '0' && s[i] <= '9'; i++)
                v = v < 100000 ? v * 10 + (s[i] - '0') : v;
            if (i == sn && v > 0 && v < 65536 && !(c->port = PyLong_FromLong(v))) goto error;
        }
    }
    for (int i = F_SessionID; i <= F_TargetSession; i++) {
        if (!x[i]) continue;
        CLEAN(x[i]);
        if (!s) continue;
        long long v;
        int r = parse_int(s, sn, &v);
        if (r == 2) { Py_XDECREF(tmp); return 0; }
        if (r == 0) continue;
        if (!(c->session = PyLong_FromLongLong(v))) goto error;
        break;
    }
    Py_XDECREF(tmp);
    return 1;
error:
    Py_XDECREF(tmp);
    return -1;
}

/* eventcommon.event_columns itself, its dict read into c: 1 done, 0 fall back, -1 error */
static int python_columns(PyObject *provider, long eid, PyObject *fields, Cols *c)
{
    static const char *names[5] = {"user", "sid", "ip", "port", "session_id"};
    PyObject **slot[5] = {&c->user, &c->sid, &c->ip, &c->port, &c->session};
    PyObject *out = PyObject_CallFunction(py_event_columns, "OlO", provider, eid, fields);
    if (!out) return -1;
    if (!PyDict_CheckExact(out)) { Py_DECREF(out); return 0; }
    for (int i = 0; i < 5; i++) {
        PyObject *v = PyDict_GetItemString(out, names[i]);
        if (v) { Py_INCREF(v); *slot[i] = v; }
    }
    Py_DECREF(out);
    return 1;
}

/* ------------------------------------------------------------------ text columns */

/* An Arrow ``large_string`` column being filled: the ``message`` and ``data`` text goes
 * here as UTF-8 bytes, not as a Python str per row (making, converting and freeing a
 * million of those cost ≈ 1.3 s per million records). take() hands the data over. */
/* Bytes the TextColumn filled, handed over as they are: a read-only buffer that frees them
 * when the last Arrow array over it goes (no copy, and no spare capacity: the block is
 * shrunk to its size first, which realloc does in place). */
typedef struct {
    PyObject_HEAD
    char *p;
    Py_ssize_t n;
} Owned;

static int owned_getbuffer(Owned *o, Py_buffer *view, int flags)
{
    return PyBuffer_FillInfo(view, (PyObject *)o, o->p, o->n, 1, flags);
}

static void owned_dealloc(Owned *o)
{
    PyMem_Free(o->p);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyBufferProcs owned_as_buffer = {(getbufferproc)owned_getbuffer, NULL};

static PyTypeObject OwnedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "parsers._fastrow.Owned",
    .tp_basicsize = sizeof(Owned),
    .tp_dealloc = (destructor)owned_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "UTF-8 bytes of a text column (read-only buffer)",
    .tp_as_buffer = &owned_as_buffer,
};

typedef struct {
    PyObject_HEAD
    char *data;            /* dcap bytes, dn of them used */
    Py_ssize_t dn, dcap;
    int64_t *offsets;      /* rows + 1 */
    uint8_t *valid;        /* one byte per row (the bitmap is made in take()) */
    Py_ssize_t rows, cap, nulls;
} TextColumn;

static void tc_release(TextColumn *c)
{
    PyMem_Free(c->data);
    c->data = NULL;
    PyMem_Free(c->offsets);
    PyMem_Free(c->valid);
    c->offsets = NULL;
    c->valid = NULL;
}

static int tc_reset(TextColumn *c)
{
    c->rows = c->nulls = c->dn = 0;
    c->cap = 1024;
    c->dcap = 1 << 16;
    c->data = PyMem_Malloc(c->dcap);
    c->offsets = PyMem_Malloc((c->cap + 1) * sizeof(int64_t));
    c->valid = PyMem_Malloc(c->cap);
    if (!c->data || !c->offsets || !c->valid) { PyErr_NoMemory(); return -1; }
    c->offsets[0] = 0;
    return 0;
}

static PyObject *tc_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    TextColumn *c = (TextColumn *)type->tp_alloc(type, 0);
    if (c && tc_reset(c) < 0) { Py_DECREF(c); return NULL; }
    return (PyObject *)c;
}

static void tc_dealloc(TextColumn *c)
{
    tc_release(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

/* one row: the UTF-8 bytes s[0..n), or a null (s NULL) */
static int tc_push(TextColumn *c, const char *s, Py_ssize_t n)
{
    if (!c->data || !c->offsets || !c->valid) {        /* a reset that failed */
        PyErr_NoMemory();
        return -1;
    }
    if (c->rows == c->cap) {
        Py_ssize_t cap = c->cap * 2;
        int64_t *o = PyMem_Realloc(c->offsets, (cap + 1) * sizeof(int64_t));
        if (!o) { PyErr_NoMemory(); return -1; }
        c->offsets = o;
        uint8_t *v = PyMem_Realloc(c->valid, cap);
        if (!v) { PyErr_NoMemory(); return -1; }
        c->valid = v;
        c->cap = cap;
    }
    if (s && n) {
        if (c->dn + n > c->dcap) {
            Py_ssize_t cap = c->dcap * 2;
            while (cap < c->dn + n) cap *= 2;
            char *q = PyMem_Realloc(c->data, cap);
            if (!q) { PyErr_NoMemory(); return -1; }
            c->data = q;
            c->dcap = cap;
        }
        memcpy(c->data + c->dn, s, n);
        c->dn += n;
    }
    c->valid[c->rows] = s != NULL;
    c->nulls += s == NULL;
    c->offsets[++c->rows] = c->dn;
    return 0;
}

/* undo the last tc_push */
static void tc_pop(TextColumn *c)
{
    c->rows--;
    c->nulls -= !c->valid[c->rows];
    c->dn = (Py_ssize_t)c->offsets[c->rows];
}

/* a row's message or data as the Python path holds it (str, None, anything else as its
 * str()): its UTF-8 bytes; *tmp a new reference to free. -1: error (not valid UTF-8) */
static int text_bytes(PyObject *v, const char **s, Py_ssize_t *n, PyObject **tmp)
{
    *tmp = NULL;
    *s = NULL;
    *n = 0;
    if (v == Py_None) return 0;
    if (!PyUnicode_CheckExact(v)) {
        if (!(*tmp = PyObject_Str(v))) return -1;
        v = *tmp;
    }
    *s = PyUnicode_AsUTF8AndSize(v, n);
    return *s ? 0 : -1;
}

static PyTypeObject TextColumnType;

/* append_text(message_col, data_col, message, data): both or, on an error, neither */
static PyObject *append_text(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !Py_IS_TYPE(args[0], &TextColumnType)
        || !Py_IS_TYPE(args[1], &TextColumnType)) {
        PyErr_SetString(PyExc_TypeError, "append_text(TextColumn, TextColumn, message, data)");
        return NULL;
    }
    const char *ms, *ds;
    Py_ssize_t mn, dn;
    PyObject *mt, *dt;
    if (text_bytes(args[2], &ms, &mn, &mt) < 0) return NULL;
    if (text_bytes(args[3], &ds, &dn, &dt) < 0) { Py_XDECREF(mt); return NULL; }
    int r = tc_push((TextColumn *)args[0], ms, mn);
    if (r == 0 && (r = tc_push((TextColumn *)args[1], ds, dn)) < 0)
        tc_pop((TextColumn *)args[0]);
    Py_XDECREF(mt);
    Py_XDECREF(dt);
    if (r < 0) return NULL;
    Py_RETURN_NONE;
}

/* take() -> (rows, nulls, validity bitmap or None, offsets, data): the buffers of an Arrow
 * large_string array; the column starts empty again */
static PyObject *tc_take(TextColumn *c, PyObject *unused)
{
    PyObject *bitmap = Py_None, *offsets = NULL, *data = NULL, *out = NULL;
    if (!c->data || !c->offsets || !c->valid) return PyErr_NoMemory();
    Py_INCREF(Py_None);
    if (c->nulls) {
        Py_DECREF(Py_None);
        bitmap = PyBytes_FromStringAndSize(NULL, (c->rows + 7) / 8);
        if (!bitmap) return NULL;
        uint8_t *w = (uint8_t *)PyBytes_AS_STRING(bitmap);
        memset(w, 0, (c->rows + 7) / 8);
        for (Py_ssize_t i = 0; i < c->rows; i++)
            if (c->valid[i]) w[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    offsets = PyBytes_FromStringAndSize((const char *)c->offsets, (c->rows + 1) * sizeof(int64_t));
    if (offsets && (data = PyObject_New(PyObject, &OwnedType))) {  /* handed over, not copied */
        char *q = PyMem_Realloc(c->data, c->dn ? c->dn : 1);      /* (shrinks in place) */
        ((Owned *)data)->p = q ? q : c->data;
        ((Owned *)data)->n = c->dn;
        c->data = NULL;                    /* (the column's next rows go to a new block) */
    }
    if (offsets && data)
        out = Py_BuildValue("nnOOO", c->rows, c->nulls, bitmap, offsets, data);
    Py_XDECREF(bitmap);
    Py_XDECREF(offsets);
    Py_XDECREF(data);
    if (!out) return NULL;
    tc_release(c);
    if (tc_reset(c) < 0) { Py_DECREF(out); return NULL; }
    return out;
}

static Py_ssize_t tc_len(TextColumn *c) { return c->rows; }

static PyMethodDef tc_methods[] = {
    {"take", (PyCFunction)tc_take, METH_NOARGS,
     "take() -> (rows, nulls, validity bitmap or None, int64 offsets, UTF-8 data)"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods tc_as_sequence = {.sq_length = (lenfunc)tc_len};

static PyTypeObject TextColumnType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "parsers._fastrow.TextColumn",
    .tp_basicsize = sizeof(TextColumn),
    .tp_dealloc = (destructor)tc_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An Arrow large_string column being filled row by row",
    .tp_methods = tc_methods,
    .tp_as_sequence = &tc_as_sequence,
    .tp_new = tc_new,
};

/* ------------------------------------------------------------------ row */

/* v["#attributes"] when v is a dict holding a dict there (``_attrs``), else NULL */
static inline PyObject *attrs(PyObject *v)
{
    if (!v || !PyDict_CheckExact(v)) return NULL;
    PyObject *a = PyDict_GetItemWithError(v, K_attributes);
    return (a && PyDict_CheckExact(a)) ? a : NULL;
}

/* attrs(d[key])[name], Py_None when absent */
static inline PyObject *attr(PyObject *d, PyObject *key, PyObject *name)
{
    PyObject *a = attrs(PyDict_GetItemWithError(d, key));
    PyObject *v = a ? PyDict_GetItemWithError(a, name) : NULL;
    return v ? v : Py_None;
}

/* a value that may come as ``{"#text": v}``: 1 *out set (None or str), 0 anything else */
static int text_or_none(PyObject *v, PyObject **out)
{
    if (v && PyDict_CheckExact(v)) v = PyDict_GetItemWithError(v, K_text);
    if (!v || v == Py_None) { *out = Py_None; return 1; }
    if (!PyUnicode_CheckExact(v)) return 0;
    *out = v;
    return 1;
}

/* the System extras after the fields: ``"ActivityID":..,"EventRecordID":..}``; erid NULL:
 * none. 1 done, 0 fall back, -1 error */
static int put_extra(Buf *b, PyObject *act, PyObject *erid)
{
    int r;
    if (act != Py_None) {
        if (buf_put(b, "\"ActivityID\":", 13) < 0) return -1;
        if ((r = put_json_value(b, act)) <= 0) return r;
    }
    if (erid) {
        if (act != Py_None && buf_put(b, ",", 1) < 0) return -1;
        if (buf_put(b, "\"EventRecordID\":", 16) < 0) return -1;
        if ((r = put_json_value(b, erid)) <= 0) return r;
    }
    return buf_put(b, "}", 1) < 0 ? -1 : 1;
}

#define FALLBACK do { result = Py_None; Py_INCREF(Py_None); goto done; } while (0)
#define CHECK(r) do { int r_ = (r); if (r_ < 0) goto done; if (r_ == 0) FALLBACK; } while (0)

/* row()'s and row_json()'s arguments (rid, record, message_col, data_col): 0 fine, -1
 * TypeError (signature: what the message names), or configure() not called yet */
static int row_args(PyObject *const *args, Py_ssize_t nargs, int text, const char *signature)
{
    if (nargs != 4 || (text && !PyUnicode_Check(args[1]))
        || !Py_IS_TYPE(args[2], &TextColumnType) || !Py_IS_TYPE(args[3], &TextColumnType)) {
        PyErr_SetString(PyExc_TypeError, signature);
        return -1;
    }
    if (!py_data_message || !py_event_columns) {
        PyErr_SetString(PyExc_RuntimeError, "_fastrow.configure() was not called");
        return -1;
    }
    return 0;
}

static PyObject *row(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (row_args(args, nargs, 0, "row(rid, ev, message_col, data_col)") < 0) return NULL;
    PyObject *rid = args[0], *ev = args[1];
    TextColumn *mcol = (TextColumn *)args[2], *dcol = (TextColumn *)args[3];
    PyObject *result = NULL, *fields = NULL, *msg = NULL;     /* msg: eventcommon's text */
    PyObject *flat = NULL;     /* the fields of a UserData record */
    int has_data = 0;
    Cols c = {0};
    Fields f;
    Buf b, m;
    buf_init(&b);
    buf_init(&m);

    /* ``_fast_row``: the shape it takes */
    if (!PyDict_CheckExact(ev)) FALLBACK;
    PyObject *e = PyDict_GetItemWithError(ev, K_Event);
    if (!e) e = ev;
    if (!PyDict_CheckExact(e)) FALLBACK;
    PyObject *sysd = PyDict_GetItemWithError(e, K_System);
    if (!sysd || !PyDict_CheckExact(sysd)) FALLBACK;
    /* UserData without EventData: the general path (``_rec_from_json`` + ``add``) gives
     * what the fast path gives for the UserData's flattened leaves, for this System shape */
    PyObject *ud = PyDict_GetItemWithError(e, K_UserData);
    PyObject *pattr = attrs(PyDict_GetItemWithError(sysd, K_Provider));
    PyObject *t = attr(sysd, K_TimeCreated, K_SystemTime);
    if (!pattr || !PyUnicode_CheckExact(t)) FALLBACK;
    PyObject *eid_o = PyDict_GetItemWithError(sysd, K_EventID);
    PyObject *erid = PyDict_GetItemWithError(sysd, K_EventRecordID);
    PyObject *lv = PyDict_GetItemWithError(sysd, K_Level);
    if (!eid_o || !PyLong_CheckExact(eid_o) || !erid || !PyLong_CheckExact(erid)) FALLBACK;
    long eid = PyLong_AsLong(eid_o);
    if (eid == -1 && PyErr_Occurred()) { PyErr_Clear(); FALLBACK; }
    if (eid < 0 || eid > 0xFFFF || PyDict_GetItemWithError(pattr, K_EventSourceName)) FALLBACK;
    int zero = (int)PyUnicode_Tailmatch(t, K_1601, 0, PY_SSIZE_T_MAX, -1);
    if (zero < 0) goto done;
    if (zero) FALLBACK;
    if (!lv) lv = Py_None;
    if (lv != Py_None && !PyLong_CheckExact(lv)) FALLBACK;
    PyObject *ed = PyDict_GetItemWithError(e, K_EventData);
    if (ud) {
        if (ed && ed != Py_None) FALLBACK;
        if (!(flat = user_data(ud))) goto done;
        if (flat == Py_None) { flat = NULL; FALLBACK; }
        ed = flat;
    }
    CHECK(scan_fields(ed, &b, &f));
    PyObject *act = attr(sysd, K_Correlation, K_ActivityID);
    PyObject *pid = attr(sysd, K_Execution, K_ProcessID);
    PyObject *userid = attr(sysd, K_Security, K_UserID);
    PyObject *provider = PyDict_GetItemWithError(pattr, K_Name), *channel, *host;
    if (!provider) provider = Py_None;
    if ((act != Py_None && !PyUnicode_CheckExact(act))
        || (pid != Py_None && !PyLong_CheckExact(pid))
        || (userid != Py_None && !PyUnicode_CheckExact(userid))
        || (provider != Py_None && !PyUnicode_CheckExact(provider))
        || !text_or_none(PyDict_GetItemWithError(sysd, K_Channel), &channel)
        || !text_or_none(PyDict_GetItemWithError(sysd, K_Computer), &host))
        FALLBACK;
    int same = PyObject_RichCompareBool(erid, rid, Py_EQ);
    if (same < 0) goto done;
    if (PyErr_Occurred()) goto done;       /* (a failed dict lookup: memory) */

    /* ``_Columns.row`` */
    Py_ssize_t hc = put_head(&m, provider, eid);
    if (hc == -1) goto done;
    if (hc == -2) FALLBACK;
    if (f.kept) {
        Py_ssize_t chars = b.n;
        if (!b.ascii)
            for (Py_ssize_t i = 0; i < b.n; i++) chars -= ((unsigned char)b.p[i] & 0xC0) == 0x80;
        if (chars > value_cap) FALLBACK;           /* ``_capped`` */
        if (b.ascii) {
            CHECK(data_message(&m, hc, b.p, b.n));
        } else {                 /* text eventcommon folds by Unicode rules: it decides */
            PyObject *text = buf_str(&b);
            if (!text) goto done;
            msg = PyObject_CallFunction(py_data_message, "OlO", provider, eid, text);
            Py_DECREF(text);
            if (!msg) goto done;
        }
        if (act != Py_None || !same) {
            if ((act != Py_None && f.slot[F_ActivityID]) || (!same && f.slot[F_EventRecordID]))
                FALLBACK;                          /* not disjoint: a merged dict */
            b.p[b.n - 1] = ',';
            CHECK(put_extra(&b, act, same ? NULL : erid));
        }
        has_data = 1;
        /* (no known name: eventcommon finds nothing either) */
        int r = f.known ? event_columns(provider, eid, (PyObject *const *)f.slot, &c) : 1;
        if (r < 0) goto done;
        if (r == 0) {            /* text this file does not fold: eventcommon decides */
            cols_clear(&c);
            if (!(fields = fields_dict(ed, &f))) goto done;
            CHECK(python_columns(provider, eid, fields, &c));
        }
    } else if (act != Py_None || !same) {
        if (buf_put(&b, "{", 1) < 0) goto done;
        CHECK(put_extra(&b, act, same ? NULL : erid));
        has_data = 1;
    }
#define OR_NONE(x) ((x) ? (x) : Py_None)
    PyObject *sid = userid != Py_None ? userid : OR_NONE(c.sid);
    result = PyTuple_Pack(15, t, host, rid, provider, channel, eid_o, lv, OR_NONE(c.user), sid,
                          OR_NONE(c.session), pid, OR_NONE(c.ip), OR_NONE(c.port), Py_None,
                          Py_None);
    if (!result) goto done;
    /* only text, ints and None: nothing the cyclic collector needs to follow (CPython
     * untracks such a tuple itself, but only once a collection has visited it) */
    PyObject_GC_UnTrack(result);
    const char *ms = m.p;
    Py_ssize_t mn = m.n;
    if (msg && !(ms = PyUnicode_AsUTF8AndSize(msg, &mn))) { Py_CLEAR(result); goto done; }
    if (tc_push(mcol, ms, mn) < 0) { Py_CLEAR(result); goto done; }
    if (tc_push(dcol, has_data ? b.p : NULL, b.n) < 0) {
        tc_pop(mcol);
        Py_CLEAR(result);
    }
done:
    cols_clear(&c);
    Py_XDECREF(fields);
    Py_XDECREF(flat);
    Py_XDECREF(msg);
    buf_free(&b);
    buf_free(&m);
    return result;
}

/* ------------------------------------------------------------------ the Rust reader's text */

/* row_json(rid, text, mcol, dcol): row() of orjson.loads(text), read straight from the
 * JSON text the Rust reader gave: no dict, list or str is made for the record's fields
 * (orjson's objects cost about as much as the Rust reader itself). It takes only what
 * gives row()'s result byte for byte, and returns None for everything else; the caller
 * then decodes the text with orjson and calls row():
 *   - ASCII text of at most JSON_MAX bytes;
 *   - strings whose escapes are the ones orjson writes (\" \\ \b \f \n \r \t, \u00xx for
 *     the other control characters): a field's escaped text is then copied as it is;
 *   - integers of at most 18 digits (no "-0"), true, false, null; no fractions;
 *   - EventData without a repeated name (orjson keeps the last value at the first place);
 *     no UserData (row() flattens it).
 * Text that is not valid JSON is "not taken" too (orjson raises, as before). */

#define JSON_MAX (64 << 10)
#define JSON_DEPTH 64

enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_STR, J_OBJ, J_ARR };

typedef struct {
    const char *k, *v;     /* a member's key, raw (between its quotes; NULL: none); J_STR:
                            * the raw text between the quotes, J_INT: the digits */
    int kn, vn;
    int skip;              /* the node after this one's subtree */
    unsigned char type, kesc, vesc;   /* *esc: the raw text holds escapes */
    long long i;           /* J_INT */
} JNode;

static JNode *jpool;
static int jcap;

/* 1: a byte a string cannot hold as it is */
static unsigned char JSPECIAL[256];

typedef struct {
    const char *p, *end;
    int count;
} JParse;

static inline void jws(JParse *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* a string after its opening quote: its raw text; 0 not taken */
static int jstring(JParse *j, const char **s, int *n, unsigned char *esc)
{
    const char *b = j->p, *p = j->p, *end = j->end;
    *esc = 0;
    for (;;) {
        /* eight bytes at a time: a byte below 0x20, a quote or a backslash ends the run
         * (the text is ASCII, so the "less than" test is exact) */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
            uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
            if (((w - ones * 0x20) | (q - ones) | (bs - ones)) & ~w & high) break;
            p += 8;
        }
        while (p < end && !JSPECIAL[(unsigned char)*p]) p++;
        if (p >= end) return 0;
        if (*p == '"') break;
        if (*p != '\\' || end - p < 2) return 0;   /* a raw control character */
        *esc = 1;
        switch (p[1]) {
        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        case 'u': {
            if (end - p < 6 || p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1'))
                return 0;
            char l = p[5];
            int c = (p[4] - '0') * 16 + (l >= '0' && l <= '9' ? l - '0'
                                         : l >= 'a' && l <= 'f' ? l - 'a' + 10 : -100);
            if (c < 0 || c == 8 || c == 9 || c == 10 || c == 12 || c == 13) return 0;
            p += 6;
            continue;
        }
        default:
            return 0;
        }
    }
    *s = b;
    *n = (int)(p - b);
    j->p = p + 1;
    return 1;
}

static int jnumber(JParse *j, JNode *nd)
{
    const char *b = j->p, *p = j->p, *end = j->end;
    int neg = p < end && *p == '-';
    p += neg;
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    if (p == d || p - d > 18 || (p - d > 1 && *d == '0')) return 0;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return 0;
    long long x = 0;
    for (const char *q = d; q < p; q++) x = x * 10 + (*q - '0');
    if (neg && !x) return 0;                          /* "-0": orjson reads 0 */
    nd->type = J_INT;
    nd->i = neg ? -x : x;
    nd->v = b;
    nd->vn = (int)(p - b);
    j->p = p;
    return 1;
}

static inline int jword(JParse *j, const char *w, int n)
{
    if (j->end - j->p < n || memcmp(j->p, w, n)) return 0;
    j->p += n;
    return 1;
}

/* one value (and its subtree) as nodes from j->count on: 1 done, 0 not taken */
static int jvalue(JParse *j, const char *k, int kn, unsigned char kesc, int depth)
{
    if (depth > JSON_DEPTH || j->count >= jcap) return 0;
    int at = j->count++;
    JNode *nd = &jpool[at];
    nd->k = k;
    nd->kn = kn;
    nd->kesc = kesc;
    nd->vesc = 0;
    jws(j);
    if (j->p >= j->end) return 0;
    char c = *j->p;
    if (c == '{' || c == '[') {
        nd->type = c == '{' ? J_OBJ : J_ARR;
        char close = c == '{' ? '}' : ']';
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
        } else {
            for (;;) {
                const char *mk = NULL;
                int mkn = 0;
                unsigned char mesc = 0;
                if (close == '}') {
                    jws(j);
                    if (j->p >= j->end || *j->p != '"') return 0;
                    j->p++;
                    if (!jstring(j, &mk, &mkn, &mesc)) return 0;
                    jws(j);
                    if (j->p >= j->end || *j->p != ':') return 0;
                    j->p++;
                }
                if (j->p < j->end && *j->p == '"' && j->count < jcap) {
                    JNode *sn = &jpool[j->count++];     /* (a string: no call of its own) */
                    sn->k = mk;
                    sn->kn = mkn;
                    sn->kesc = mesc;
                    sn->type = J_STR;
                    j->p++;
                    if (!jstring(j, &sn->v, &sn->vn, &sn->vesc)) return 0;
                    sn->skip = j->count;
                } else if (!jvalue(j, mk, mkn, mesc, depth + 1)) {
                    return 0;
                }
                jws(j);
                if (j->p >= j->end) return 0;
                if (*j->p == ',') { j->p++; continue; }
                if (*j->p != close) return 0;
                j->p++;
                break;
            }
        }
    } else if (c == '"') {
        j->p++;
        nd->type = J_STR;
        if (!jstring(j, &nd->v, &nd->vn, &nd->vesc)) return 0;
    } else if (c == 't') {
        nd->type = J_TRUE;
        if (!jword(j, "true", 4)) return 0;
    } else if (c == 'f') {
        nd->type = J_FALSE;
        if (!jword(j, "false", 5)) return 0;
    } else if (c == 'n') {
        nd->type = J_NULL;
        if (!jword(j, "null", 4)) return 0;
    } else if (!jnumber(j, nd)) {
        return 0;
    }
    jpool[at].skip = j->count;
    return 1;
}

/* the text as nodes (the root at 0): 1 done, 0 not taken, -1 error */
static int jparse(const char *s, Py_ssize_t n)
{
    /* every node takes at least one byte and its separator: n / 2 + 2 are enough */
    int need = (int)(n / 2 + 2);
    if (need > jcap) {
        JNode *q = PyMem_Realloc(jpool, sizeof(JNode) * need);
        if (!q) { PyErr_NoMemory(); return -1; }
        jpool = q;
        jcap = need;
    }
    JParse j = {s, s + n, 0};
    if (!jvalue(&j, NULL, 0, 0, 0)) return 0;
    jws(&j);
    return j.p == j.end;
}

/* a raw key equals a name of the same length (short names: no libc call) */
static inline int keq(const char *k, const char *name, int len)
{
    for (int i = 0; i < len; i++)
        if (k[i] != name[i]) return 0;
    return 1;
}

/* the last member named name (len bytes) of object node o (orjson keeps the last), or -1 */
#define jget(o, name) jget_n((o), (name), (int)sizeof(name) - 1)
static inline int jget_n(int o, const char *name, int len)
{
    if (o < 0 || jpool[o].type != J_OBJ) return -1;
    int found = -1;
    for (int c = o + 1; c < jpool[o].skip; c = jpool[c].skip)
        if (jpool[c].kn == len && !jpool[c].kesc && keq(jpool[c].k, name, len))
            found = c;
    return found;
}

/* the System members row() reads, found in one pass (the last of a repeated name) */
enum { S_Provider, S_TimeCreated, S_EventID, S_EventRecordID, S_Level, S_Correlation,
       S_Execution, S_Security, S_Channel, S_Computer, NS };
static const char *const SNAMES[NS] = {"Provider", "TimeCreated", "EventID", "EventRecordID",
                                       "Level", "Correlation", "Execution", "Security",
                                       "Channel", "Computer"};

static void jsystem(int sysd, int out[NS])
{
    for (int i = 0; i < NS; i++) out[i] = -1;
    for (int c = sysd + 1; c < jpool[sysd].skip; c = jpool[c].skip) {
        const JNode *nd = &jpool[c];
        if (nd->kesc) continue;
        for (int i = 0; i < NS; i++)
            if (SNAMES[i][0] == nd->k[0] && (int)strlen(SNAMES[i]) == nd->kn
                && keq(nd->k, SNAMES[i], nd->kn)) {
                out[i] = c;
                break;
            }
    }
}

/* attrs(): node v["#attributes"] when v is an object holding an object there, or -1 */
static inline int jattrs(int v)
{
    int a = jget(v, "#attributes");
    return a >= 0 && jpool[a].type == J_OBJ ? a : -1;
}


static inline int jnone(int v) { return v < 0 || jpool[v].type == J_NULL; }

/* str of the raw text of an ASCII JSON string, its escapes resolved; new reference */
static PyObject *junescape(const char *s, int n)
{
    char stack[256], *w0 = n <= (int)sizeof stack ? stack : PyMem_Malloc(n), *w = w0;
    if (!w0) return PyErr_NoMemory();
    for (int i = 0; i < n; i++) {
        if (s[i] != '\\') { *w++ = s[i]; continue; }
        char e = s[++i];
        switch (e) {
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            char l = s[i + 4];
            *w++ = (char)((s[i + 3] - '0') * 16 + (l <= '9' ? l - '0' : l - 'a' + 10));
            i += 4;
            break;
        }
        default: *w++ = e;                       /* '"', '\\' */
        }
    }
    PyObject *o = PyUnicode_New(w - w0, 127);
    if (o) memcpy(PyUnicode_DATA(o), w0, w - w0);
    if (w0 != stack) PyMem_Free(w0);
    return o;
}

/* recently seen short names (provider, channel, host, SID): made once, not per record */
#define SCACHE 256
static PyObject *scache[SCACHE];

/* the str of a J_STR node; new reference */
static PyObject *jstr_new(int v)
{
    const JNode *nd = &jpool[v];
    if (nd->vesc) return junescape(nd->v, nd->vn);
    PyObject *o = PyUnicode_New(nd->vn, 127);
    if (o) memcpy(PyUnicode_DATA(o), nd->v, nd->vn);
    return o;
}

/* jstr_new() of a value that repeats from record to record */
static PyObject *jstr_obj(int v)
{
    const JNode *nd = &jpool[v];
    if (nd->vesc || nd->vn > 64) return jstr_new(v);
    uint32_t h = 2166136261u;
    for (int i = 0; i < nd->vn; i++) h = (h ^ (unsigned char)nd->v[i]) * 16777619u;
    PyObject **slot = &scache[(h ^ (h >> 16)) & (SCACHE - 1)];
    if (*slot && PyUnicode_GET_LENGTH(*slot) == nd->vn
        && memcmp(PyUnicode_DATA(*slot), nd->v, nd->vn) == 0) {
        Py_INCREF(*slot);
        return *slot;
    }
    PyObject *o = PyUnicode_New(nd->vn, 127);
    if (!o) return NULL;
    memcpy(PyUnicode_DATA(o), nd->v, nd->vn);
    Py_INCREF(o);
    Py_XSETREF(*slot, o);
    return o;
}

/* a field value as orjson gives it (str, int, bool, None); new reference */
static PyObject *jobj(int v)
{
    switch (jpool[v].type) {
    case J_STR: return jstr_new(v);
    case J_INT: return PyLong_FromLongLong(jpool[v].i);
    case J_TRUE: Py_RETURN_TRUE;
    case J_FALSE: Py_RETURN_FALSE;
    default: Py_RETURN_NONE;
    }
}

/* text_or_none(): None, a str node, or an object's "#text": 1 *out (-1: None), 0 another */
static int jtext_or_none(int v, int *out)
{
    if (v >= 0 && jpool[v].type == J_OBJ) v = jget(v, "#text");
    if (jnone(v)) { *out = -1; return 1; }
    if (jpool[v].type != J_STR) return 0;
    *out = v;
    return 1;
}

/* a node's text as orjson writes it (J_STR, J_INT, J_TRUE, J_FALSE) */
static int jput(Buf *b, int v)
{
    const JNode *nd = &jpool[v];
    switch (nd->type) {
    case J_STR:
        if (buf_room(b, nd->vn + 2)) return -1;
        b->p[b->n++] = '"';
        memcpy(b->p + b->n, nd->v, nd->vn);
        b->n += nd->vn;
        b->p[b->n++] = '"';
        return 0;
    case J_INT: return buf_put(b, nd->v, nd->vn);
    case J_TRUE: return buf_put(b, "true", 4);
    default: return buf_put(b, "false", 5);
    }
}

typedef struct {
    int slot[NF];          /* the node of each known name, or -1 */
    Py_ssize_t kept;
    int known;
} JFields;

/* 1: object node o repeats a name (orjson keeps the last value at the first place: not
 * taken), or has more than 256 members. (A table whose slots are free unless stamped in
 * this call: nothing to clear.) */
static int jrepeats(int o)
{
    static int seen[512];
    static uint32_t hs[512], stamp[512], now;
    if (++now == 0) {
        memset(stamp, 0, sizeof stamp);
        now = 1;
    }
    int members = 0;
    for (int c = o + 1; c < jpool[o].skip; c = jpool[c].skip) {
        const JNode *nd = &jpool[c];
        if (++members > 256) return 1;
        uint64_t w = (uint64_t)nd->kn;
        if (nd->kn >= 8) {
            uint64_t a, z;
            memcpy(&a, nd->k, 8);
            memcpy(&z, nd->k + nd->kn - 8, 8);
            w ^= a * 0x9E3779B97F4A7C15ULL ^ z;
        } else {
            for (int i = 0; i < nd->kn; i++) w = (w << 8) | (unsigned char)nd->k[i];
        }
        w *= 0xC2B2AE3D27D4EB4FULL;
        uint32_t h = (uint32_t)(w >> 32);
        unsigned s = h & 511;
        while (stamp[s] == now) {
            const JNode *q = &jpool[seen[s]];
            if (hs[s] == h && q->kn == nd->kn && memcmp(q->k, nd->k, nd->kn) == 0) return 1;
            s = (s + 1) & 511;
        }
        stamp[s] = now;
        seen[s] = c;
        hs[s] = h;
    }
    return 0;
}

/* one field (raw key k, value node v) as scan_fields() takes it: 1 done (or left out:
 * None, ""), 0 not taken, -1 error */
static int jfield(Buf *b, JFields *f, const char *k, int kn, int kesc, int v)
{
    const JNode *nd = &jpool[v];
    int i = -1;
    if (!kesc && kn < MAXLEN) {
        for (const signed char *q = BY_LEN[kn]; *q >= 0; q++) {
            const char *nm = FNAMES[*q];
            int e = 0;
            while (e < kn && nm[e] == k[e]) e++;
            if (e == kn) {
                i = *q;
                break;
            }
        }
    }
    if (i >= F_Data || nd->type == J_OBJ || nd->type == J_ARR) return 0;
    if (nd->type == J_NULL || (nd->type == J_STR && nd->vn == 0)) return 1;
    if (buf_put(b, f->kept ? ",\"" : "{\"", 2) < 0 || buf_put(b, k, kn) < 0
        || buf_put(b, "\":", 2) < 0 || jput(b, v) < 0)
        return -1;
    f->kept++;
    if (i >= 0) {
        f->slot[i] = v;
        f->known = 1;
    }
    return 1;
}

static void jfields_init(JFields *f)
{
    for (int i = 0; i < NF; i++) f->slot[i] = -1;
    f->kept = 0;
    f->known = 0;
}

/* scan_fields() over EventData node ed (-1: none): 1 done, 0 not taken, -1 error */
static int jscan_fields(int ed, Buf *b, JFields *f)
{
    jfields_init(f);
    if (jnone(ed)) return 1;
    if (jpool[ed].type != J_OBJ || jrepeats(ed)) return 0;
    for (int c = ed + 1; c < jpool[ed].skip; c = jpool[c].skip) {
        const JNode *nd = &jpool[c];
        if (nd->type == J_OBJ || (nd->kn == 4 && keq(nd->k, "Data", 4))
            || (nd->kn == 6 && keq(nd->k, "Binary", 6))
            || (nd->kn == 11 && keq(nd->k, "#attributes", 11)))
            return 2;                    /* the general shape: jevent_data() */
        int r = jfield(b, f, nd->k, nd->kn, nd->kesc, c);
        if (r <= 0) return r;
    }
    return f->kept && buf_put(b, "}", 1) < 0 ? -1 : 1;
}

/* user_data()'s flat fields: their keys (raw JSON text) in a scratch buffer, in the order
 * a dict keeps them (first insertion), with the last value set */
#define JFLAT_MAX 64
typedef struct {
    Py_ssize_t koff;
    int kn, kesc, v;
} JEntry;

typedef struct {
    JEntry e[JFLAT_MAX];
    int n;
    Buf keys;
} JFlat;

/* the entry of the key in keys[off, off + n), or -1 */
static int jflat_find(const JFlat *fl, Py_ssize_t off, int n)
{
    for (int i = 0; i < fl->n; i++)
        if (fl->e[i].kn == n && memcmp(fl->keys.p + fl->e[i].koff, fl->keys.p + off, n) == 0)
            return i;
    return -1;
}

/* out[key] = v for the key just written at keys[off:] (kept there if new): 1 done, 0 too
 * many fields */
static int jflat_set(JFlat *fl, Py_ssize_t off, int kesc, int v)
{
    int n = (int)(fl->keys.n - off);
    int i = jflat_find(fl, off, n);
    if (i >= 0) {
        fl->e[i].v = v;
        fl->keys.n = off;                /* (the key is there already) */
        return 1;
    }
    if (fl->n >= JFLAT_MAX) return 0;
    fl->e[fl->n++] = (JEntry){off, n, kesc, v};
    return 1;
}

/* flatten(prefix, v, out): prefix keys[poff, poff + pn); 1 done, 0 not taken, -1 error */
static int jflatten(JFlat *fl, Py_ssize_t poff, int pn, int pesc, int v, int depth)
{
    if (depth > 32) return 0;
    const JNode *nd = &jpool[v];
    if (nd->type != J_OBJ) {
        if (nd->type == J_NULL || !pn || (nd->type == J_STR && !nd->vn)) return 1;
        if (nd->type == J_ARR) return 0;          /* (a list value: row() leaves it too) */
        if (jflat_find(fl, poff, pn) >= 0) return 0;   /* a repeated element: a list */
        if (buf_room(&fl->keys, pn)) return -1;
        memcpy(fl->keys.p + fl->keys.n, fl->keys.p + poff, pn);
        Py_ssize_t off = fl->keys.n;
        fl->keys.n += pn;
        return jflat_set(fl, off, pesc, v);
    }
    if (jrepeats(v)) return 0;
    for (int c = v + 1; c < jpool[v].skip; c = jpool[c].skip) {
        const JNode *m = &jpool[c];
        if (m->kn == 11 && keq(m->k, "#attributes", 11)) {
            if (m->type != J_OBJ || jrepeats(c)) return 0;
            for (int a = c + 1; a < jpool[c].skip; a = jpool[a].skip) {
                const JNode *at = &jpool[a];
                if ((at->kn == 5 && keq(at->k, "xmlns", 5)) || at->type == J_NULL
                    || (at->type == J_STR && !at->vn))
                    continue;
                Py_ssize_t off = fl->keys.n;
                if (buf_room(&fl->keys, pn + 1 + at->kn)) return -1;
                if (pn) {
                    memcpy(fl->keys.p + fl->keys.n, fl->keys.p + poff, pn);
                    fl->keys.p[fl->keys.n + pn] = '.';
                    fl->keys.n += pn + 1;
                }
                memcpy(fl->keys.p + fl->keys.n, at->k, at->kn);
                fl->keys.n += at->kn;
                if (!jflat_set(fl, off, pesc || at->kesc, a)) return 0;
            }
        } else if (m->kn == 5 && keq(m->k, "#text", 5)) {
            if (m->type == J_NULL || !pn || (m->type == J_STR && !m->vn)) continue;
            if (buf_room(&fl->keys, pn)) return -1;
            memcpy(fl->keys.p + fl->keys.n, fl->keys.p + poff, pn);
            Py_ssize_t off = fl->keys.n;
            fl->keys.n += pn;
            if (!jflat_set(fl, off, pesc, c)) return 0;
        } else {
            Py_ssize_t off = fl->keys.n;
            if (buf_put(&fl->keys, m->k, m->kn) < 0) return -1;
            int r = jflatten(fl, off, m->kn, m->kesc, c, depth + 1);
            if (r <= 0) return r;
        }
    }
    return 1;
}

/* user_data() + scan_fields() of UserData node ud: 1 done, 0 not taken, -1 error */
static int juser_data(int ud, Buf *b, JFields *f)
{
    jfields_init(f);
    if (jpool[ud].type != J_OBJ || jrepeats(ud)) return 0;
    JFlat fl;
    fl.n = 0;
    buf_init(&fl.keys);
    int r = 1;
    for (int c = ud + 1; c < jpool[ud].skip && r > 0; c = jpool[c].skip) {
        if (jpool[c].kn == 11 && keq(jpool[c].k, "#attributes", 11)) continue;
        r = jflatten(&fl, 0, 0, 0, c, 0);
    }
    for (int i = 0; i < fl.n && r > 0; i++)
        r = jfield(b, f, fl.keys.p + fl.e[i].koff, fl.e[i].kn, fl.e[i].kesc, fl.e[i].v);
    buf_free(&fl.keys);
    if (r <= 0) return r;
    return f->kept && buf_put(b, "}", 1) < 0 ? -1 : 1;
}

/* _int(): a J_INT, or a J_STR of 1 to 18 ASCII digits: 1 *out set, 0 anything else (which
 * _int reads otherwise or not at all: not taken) */
static int jint_of(int v, long long *out)
{
    const JNode *nd = &jpool[v];
    if (nd->type == J_INT) { *out = nd->i; return 1; }
    if (nd->type != J_STR || nd->vesc || nd->vn < 1 || nd->vn > 18) return 0;
    long long x = 0;
    for (int i = 0; i < nd->vn; i++) {
        if (nd->v[i] < '0' || nd->v[i] > '9') return 0;
        x = x * 10 + (nd->v[i] - '0');
    }
    *out = x;
    return 1;
}

static inline int jempty(int v)
{
    return jpool[v].type == J_NULL || (jpool[v].type == J_STR && !jpool[v].vn);
}

/* _event_data_json(): EventData with unnamed values (Data: paramN), Binary (*binary: its
 * node, -1 none), attributes (left out) or nested elements (flattened), set into a dict in
 * order; then scan_fields() of that dict. 1 done, 0 not taken, -1 error */
static int jevent_data(int ed, Buf *b, JFields *f, int *binary)
{
    jfields_init(f);
    *binary = -1;
    if (jrepeats(ed)) return 0;
    JFlat fl;
    fl.n = 0;
    buf_init(&fl.keys);
    int r = 1;
    for (int c = ed + 1; c < jpool[ed].skip && r > 0; c = jpool[c].skip) {
        const JNode *nd = &jpool[c];
        Py_ssize_t off = fl.keys.n;
        if (nd->kn == 4 && keq(nd->k, "Data", 4)) {
            int t = nd->type == J_OBJ ? jget(c, "#text") : c;      /* _text(v) */
            if (t >= 0 && jpool[t].type == J_ARR) {
                int i = 0;
                for (int x = t + 1; x < jpool[t].skip && r > 0; x = jpool[x].skip) {
                    i++;
                    if (jempty(x)) continue;
                    char key[24];
                    int kn = snprintf(key, sizeof key, "param%d", i);
                    off = fl.keys.n;
                    r = buf_put(&fl.keys, key, kn) < 0 ? -1 : jflat_set(&fl, off, 0, x);
                }
            } else if (t >= 0 && !jempty(t)) {
                r = buf_put(&fl.keys, "param1", 6) < 0 ? -1 : jflat_set(&fl, off, 0, t);
            }
        } else if (nd->kn == 6 && keq(nd->k, "Binary", 6)) {
            if (nd->type == J_STR && nd->vn) *binary = c;       /* ``if v:`` */
            else if (!(jempty(c) || nd->type == J_FALSE || (nd->type == J_INT && !nd->i)))
                r = 0;                                         /* a number, a list: Python */
        } else if (nd->kn == 11 && keq(nd->k, "#attributes", 11)) {
            continue;
        } else if (nd->type == J_OBJ) {
            r = buf_put(&fl.keys, nd->k, nd->kn) < 0 ? -1
                : jflatten(&fl, off, nd->kn, nd->kesc, c, 1);
        } else if (!jempty(c)) {
            r = buf_put(&fl.keys, nd->k, nd->kn) < 0 ? -1 : jflat_set(&fl, off, nd->kesc, c);
        }
    }
    for (int i = 0; i < fl.n && r > 0; i++)
        r = jfield(b, f, fl.keys.p + fl.e[i].koff, fl.e[i].kn, fl.e[i].kesc, fl.e[i].v);
    buf_free(&fl.keys);
    if (r <= 0) return r;
    return f->kept && buf_put(b, "}", 1) < 0 ? -1 : 1;
}

#undef FALLBACK
#define FALLBACK do { result = Py_None; Py_INCREF(Py_None); goto done; } while (0)

static PyObject *row_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (row_args(args, nargs, 1, "row_json(rid, text, message_col, data_col)") < 0)
        return NULL;
    PyObject *rid = args[0], *text = args[1];
    TextColumn *mcol = (TextColumn *)args[2], *dcol = (TextColumn *)args[3];
    if (!PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) > JSON_MAX) Py_RETURN_NONE;
    PyObject *result = NULL, *t = NULL, *provider = NULL, *channel = NULL, *host = NULL,
             *eid_o = NULL, *lv = NULL, *pid = NULL, *userid = NULL;
    PyObject *x[NF] = {0};
    int has_data = 0;
    Cols c = {0};
    JFields f;
    Buf b, m;
    buf_init(&b);
    buf_init(&m);

    int r = jparse((const char *)PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text));
    if (r < 0) goto done;
    if (!r || jpool[0].type != J_OBJ) FALLBACK;
    int e = jget(0, "Event");
    if (e < 0) e = 0;
    if (jpool[e].type != J_OBJ) FALLBACK;
    int sysd = jget(e, "System");
    if (sysd < 0 || jpool[sysd].type != J_OBJ) FALLBACK;
    int sy[NS];
    jsystem(sysd, sy);
    int pattr = jattrs(sy[S_Provider]);
    int tn = jget(jattrs(sy[S_TimeCreated]), "SystemTime");
    if (pattr < 0 || tn < 0 || jpool[tn].type != J_STR || jpool[tn].vesc) FALLBACK;
    int eidn = sy[S_EventID], erid = sy[S_EventRecordID], qn = -1;
    int lvn = sy[S_Level];
    if (eidn >= 0 && jpool[eidn].type == J_OBJ) {     /* a classic provider's event id */
        qn = jget(jattrs(eidn), "Qualifiers");
        eidn = jget(eidn, "#text");
    }
    /* (numbers as text, as in logs converted from XML: _int() reads them) */
    long long eid, eridv, lvv = 0, qual = 0;
    if (eidn < 0 || !jint_of(eidn, &eid) || erid < 0 || !jint_of(erid, &eridv)) FALLBACK;
    int has_q = !jnone(qn);
    if (has_q && !jint_of(qn, &qual)) FALLBACK;
    int esn = jget(pattr, "EventSourceName");
    if (jnone(esn)) esn = -1;
    else if (jpool[esn].type != J_STR) FALLBACK;
    if (eid < 0 || eid > 0xFFFF) FALLBACK;
    if (jpool[tn].vn >= 19 && memcmp(jpool[tn].v, "1601-01-01T00:00:00", 19) == 0) FALLBACK;
    if (!jnone(lvn) && !jint_of(lvn, &lvv)) FALLBACK;
    int ud = jget(e, "UserData"), ed = jget(e, "EventData"), bin = -1;
    if (ud >= 0) {                   /* UserData without EventData: its flattened leaves */
        if (!jnone(ed)) FALLBACK;
        CHECK(juser_data(ud, &b, &f));
    } else {
        r = jscan_fields(ed, &b, &f);
        if (r == 2) {
            b.n = 0;
            r = jevent_data(ed, &b, &f, &bin);
        }
        CHECK(r);
    }
    int act = jget(jattrs(sy[S_Correlation]), "ActivityID");
    int pidn = jget(jattrs(sy[S_Execution]), "ProcessID");
    long long pidv = 0;
    int uidn = jget(jattrs(sy[S_Security]), "UserID");
    int provn = jget(pattr, "Name"), chann, hostn;
    if ((!jnone(act) && jpool[act].type != J_STR)
        || (!jnone(pidn) && !jint_of(pidn, &pidv))
        || (!jnone(uidn) && jpool[uidn].type != J_STR)
        || (!jnone(provn) && jpool[provn].type != J_STR)
        || !jtext_or_none(sy[S_Channel], &chann)
        || !jtext_or_none(sy[S_Computer], &hostn))
        FALLBACK;
    if (jnone(act)) act = -1;
    int overflow = 0;
    long long ridv = PyLong_AsLongLongAndOverflow(rid, &overflow);
    if (ridv == -1 && PyErr_Occurred()) goto done;
    int same = !overflow && ridv == eridv;

    /* the row's objects */
    if (!(t = jstr_new(tn)) || !(eid_o = PyLong_FromLongLong(eid))
        || !(provider = jnone(provn) ? Py_NewRef(Py_None) : jstr_obj(provn))
        || !(channel = chann < 0 ? Py_NewRef(Py_None) : jstr_obj(chann))
        || !(host = hostn < 0 ? Py_NewRef(Py_None) : jstr_obj(hostn))
        || !(lv = jnone(lvn) ? Py_NewRef(Py_None) : PyLong_FromLongLong(lvv))
        || !(pid = jnone(pidn) ? Py_NewRef(Py_None) : PyLong_FromLongLong(pidv))
        || !(userid = jnone(uidn) ? Py_NewRef(Py_None) : jstr_obj(uidn)))
        goto done;

    /* ``_Columns.row`` */
    Py_ssize_t hc = put_head(&m, provider, (long)eid);
    if (hc == -1) goto done;
    if (hc == -2) FALLBACK;
    /* ``_Columns._extra``: what the System part adds to the data, in this order */
    int extra = has_q || esn >= 0 || act >= 0 || !same || bin >= 0;
    if (bin >= 0) {
        if (jpool[bin].vesc || jpool[bin].vn > value_cap) FALLBACK;   /* (cut: Python) */
        if (provider != Py_None && PyUnicode_GET_LENGTH(provider) == 6
            && eq_upper(PyUnicode_DATA(provider), 6, "TERMDD"))
            FALLBACK;                    /* TermDD's ntstatus: eventcommon decodes it */
    }
    if (f.kept) {
        if (b.n > value_cap) FALLBACK;             /* ``_capped`` */
        CHECK(data_message(&m, hc, b.p, b.n));
        if (extra) {
            if ((has_q && f.slot[F_Qualifiers] >= 0)
                || (esn >= 0 && f.slot[F_EventSourceName] >= 0)
                || (act >= 0 && f.slot[F_ActivityID] >= 0)
                || (!same && f.slot[F_EventRecordID] >= 0))
                FALLBACK;                          /* not disjoint: a merged dict */
            b.p[b.n - 1] = ',';
        }
        has_data = 1;
        if (f.known) {
            for (int i = 0; i < NF; i++)
                if (f.slot[i] >= 0 && !(x[i] = jobj(f.slot[i]))) goto done;
            CHECK(event_columns(provider, (long)eid, (PyObject *const *)x, &c));
        }
    } else if (extra) {
        if (buf_put(&b, "{", 1) < 0) goto done;
        has_data = 1;
    }
    if (extra) {
        const char *sep = "";
#define KEY(name) (buf_put(&b, sep, *sep ? 1 : 0) < 0 \
                   || buf_put(&b, "\"" name "\":", (Py_ssize_t)sizeof(name) + 2) < 0)
        if (has_q && (KEY("Qualifiers") || buf_ll(&b, qual) < 0)) goto done;
        if (has_q) sep = ",";
        if (esn >= 0 && (KEY("EventSourceName") || jput(&b, esn) < 0)) goto done;
        if (esn >= 0) sep = ",";
        if (act >= 0 && (KEY("ActivityID") || jput(&b, act) < 0)) goto done;
        if (act >= 0) sep = ",";
        if (!same && (KEY("EventRecordID") || buf_ll(&b, eridv) < 0)) goto done;
        if (!same) sep = ",";
        if (bin >= 0) {                  /* str(binary).lower() */
            if (KEY("Binary") || jput(&b, bin) < 0) goto done;
            for (char *q = b.p + b.n - 1 - jpool[bin].vn; q < b.p + b.n - 1; q++)
                if (*q >= 'A' && *q <= 'Z') *q += 32;
        }
#undef KEY
        if (buf_put(&b, "}", 1) < 0) goto done;
    }
    PyObject *sid = userid != Py_None ? userid : OR_NONE(c.sid);
    result = PyTuple_Pack(15, t, host, rid, provider, channel, eid_o, lv, OR_NONE(c.user), sid,
                          OR_NONE(c.session), pid, OR_NONE(c.ip), OR_NONE(c.port), Py_None,
                          Py_None);
    if (!result) goto done;
    PyObject_GC_UnTrack(result);
    if (tc_push(mcol, m.p, m.n) < 0) { Py_CLEAR(result); goto done; }
    if (tc_push(dcol, has_data ? b.p : NULL, b.n) < 0) {
        tc_pop(mcol);
        Py_CLEAR(result);
    }
done:
    cols_clear(&c);
    for (int i = 0; i < NF; i++) Py_XDECREF(x[i]);
    Py_XDECREF(t); Py_XDECREF(provider); Py_XDECREF(channel); Py_XDECREF(host);
    Py_XDECREF(eid_o); Py_XDECREF(lv); Py_XDECREF(pid); Py_XDECREF(userid);
    buf_free(&b);
    buf_free(&m);
    return result;
}

/* drive(it, seen, pending, mcol, dcol, batch, cap, check): the Rust pass's loop for the
 * records row_json takes. Pulls records (dicts) from the Rust reader's iterator, appends
 * each id to seen (an array.array), and appends row_json's row to pending. Returns None when
 * the iterator ends, True when pending holds batch rows (the caller converts them), or a
 * record for the caller's own loop, its id already in seen: one row_json does not take (or
 * that raised in it), one longer than cap characters, one without an id, an item that is
 * no dict (wrapped in a 1-tuple, so that None or True from the iterator is not read as the
 * end or a full batch: review rvN), and
 * (check true) each one after which len(seen) is a multiple of 4096 (the caller's deadline).
 * An error of the iterator or of seen.append propagates, as in the caller's own loop. */
static PyObject *K_event_record_id, *K_data;

static PyObject *drive(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyList_Check(args[2]) || !Py_IS_TYPE(args[3], &TextColumnType)
        || !Py_IS_TYPE(args[4], &TextColumnType) || !Py_TYPE(args[0])->tp_iternext) {
        PyErr_SetString(PyExc_TypeError,
                        "drive(iterator, seen, pending, mcol, dcol, batch, cap, check)");
        return NULL;
    }
    PyObject *it = args[0], *seen = args[1], *pending = args[2];
    Py_ssize_t batch = PyLong_AsSsize_t(args[5]), cap = PyLong_AsSsize_t(args[6]);
    int check = PyObject_IsTrue(args[7]);
    if ((batch == -1 || cap == -1 || check < 0) && PyErr_Occurred()) return NULL;
    PyObject *append = PyObject_GetAttrString(seen, "append");
    if (!append) return NULL;
    iternextfunc next = Py_TYPE(it)->tp_iternext;
    PyObject *r, *out = NULL;
    for (;;) {
        if (!(r = next(it))) {
            if (!PyErr_Occurred()) out = Py_NewRef(Py_None);
            else if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
                PyErr_Clear();
                out = Py_NewRef(Py_None);
            }
            break;
        }
        if (!PyDict_CheckExact(r)) {     /* as a 1-tuple: None and True mean end, flush */
            out = PyTuple_Pack(1, r);
            Py_DECREF(r);
            break;
        }
        PyObject *rid = PyDict_GetItemWithError(r, K_event_record_id);
        if (!rid) {                                   /* (the caller's loop raises) */
            PyErr_Clear();
            out = r;
            break;
        }
        PyObject *ok = PyObject_CallOneArg(append, rid);
        if (!ok) {
            Py_DECREF(r);
            break;
        }
        Py_DECREF(ok);
        if (check) {
            Py_ssize_t n = PyObject_Length(seen);
            if (n < 0) { Py_DECREF(r); break; }
            if (!(n & 4095)) { out = r; break; }
        }
        PyObject *s = PyDict_GetItemWithError(r, K_data);
        if (!s || !PyUnicode_CheckExact(s) || PyUnicode_GET_LENGTH(s) > cap) {
            PyErr_Clear();
            out = r;
            break;
        }
        PyObject *rargs[4] = {rid, s, args[3], args[4]};
        PyObject *t = row_json(NULL, rargs, 4);
        if (!t || t == Py_None) {        /* (an error: the caller's loop meets it again) */
            if (!t) PyErr_Clear();
            Py_XDECREF(t);
            out = r;
            break;
        }
        int rc = PyList_Append(pending, t);
        Py_DECREF(t);
        Py_DECREF(r);
        if (rc < 0) break;
        if (PyList_GET_SIZE(pending) >= batch) {
            out = Py_NewRef(Py_True);
            break;
        }
    }
    Py_DECREF(append);
    return out;
}

/* ------------------------------------------------------------------ time */

#define NAT INT64_MIN
#define FT_UNIX_US 11644473600000000LL       /* 1601-01-01 .. 1970-01-01 in µs */

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static inline int digits(const char *s, int n, int *out)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 1;
}

/* _times() of one value: the Rust reader's "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z" (the
 * fraction cut to µs), a FILETIME int (our reader), None: 1 *us set (NAT: NaT); 0 anything
 * else (another text form, an impossible date or time, a year before 1: _times decides) */
static int time_us(PyObject *x, int64_t *us)
{
    if (x == Py_None) { *us = NAT; return 1; }
    if (PyLong_CheckExact(x)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (v == -1 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
        /* 0 <= v < 1 << 63: v // 10 - FT_UNIX_US, else NaT */
        *us = overflow || v < 0 ? NAT : v / 10 - FT_UNIX_US;
        return 1;
    }
    if (!PyUnicode_CheckExact(x) || !PyUnicode_IS_ASCII(x)) return 0;
    const char *s = (const char *)PyUnicode_DATA(x);
    Py_ssize_t n = PyUnicode_GET_LENGTH(x);
    int y, mo, d, h, mi, se, frac = 0;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':'
        || s[n - 1] != 'Z' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo)
        || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi)
        || !digits(s + 17, 2, &se))
        return 0;
    if (n > 20) {                                     /* ".f{1,9}" */
        Py_ssize_t fn = n - 21;
        if (s[19] != '.' || fn < 1 || fn > 9) return 0;
        int f6 = 0;
        for (Py_ssize_t i = 0; i < fn; i++) {
            if (s[20 + i] < '0' || s[20 + i] > '9') return 0;
            if (i < 6) f6 = f6 * 10 + (s[20 + i] - '0');
        }
        for (Py_ssize_t i = fn; i < 6; i++) f6 *= 10;
        frac = f6;
    }
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] + (mo == 2 && leap)
        || h > 23 || mi > 59 || se > 59)
        return 0;
    *us = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000000LL + se * 1000000LL
        + frac;
    return 1;
}

/* convert(rows, kinds): column j of the rows (tuples of len(kinds)) by kinds[j]: "i" an
 * int64 column as (values, null mask) bytes, "s" a text column as TextColumn.take() gives
 * it, "-" None (not wanted); any other kind, or a column with a value that does not fit its
 * kind (an "i" value that is no int within 64 bits or None, an "s" value that is no str or
 * None, or no valid UTF-8), as the list of its values, what list(zip(*rows))[j] gives.
 * One pass over the rows (each tuple is touched once), no Python object per value. */
#define MAXCOLS 32
static PyObject *convert(PyObject *self, PyObject *args)
{
    PyObject *rows;
    const char *kinds;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "O!s#", &PyList_Type, &rows, &kinds, &n)) return NULL;
    if (n > MAXCOLS) {
        PyErr_SetString(PyExc_ValueError, "convert(): too many columns");
        return NULL;
    }
    Py_ssize_t m = PyList_GET_SIZE(rows);
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *r = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != n) {
            PyErr_SetString(PyExc_ValueError, "convert(): a row of another length");
            return NULL;
        }
    }
    char kind[MAXCOLS];
    PyObject *vals[MAXCOLS] = {0}, *mask[MAXCOLS] = {0}, *list[MAXCOLS] = {0};
    TextColumn *tc[MAXCOLS] = {0};
    PyObject *out = NULL;
    for (Py_ssize_t j = 0; j < n; j++) {
        kind[j] = kinds[j] == 'i' || kinds[j] == 's' || kinds[j] == '-' || kinds[j] == 't'
                  ? kinds[j] : 'l';
        if (kind[j] == 't') {
            if (!(vals[j] = PyBytes_FromStringAndSize(NULL, m * (Py_ssize_t)sizeof(int64_t))))
                goto done;
        } else if (kind[j] == 'i') {
            vals[j] = PyBytes_FromStringAndSize(NULL, m * (Py_ssize_t)sizeof(int64_t));
            mask[j] = PyBytes_FromStringAndSize(NULL, m);
            if (!vals[j] || !mask[j]) goto done;
        } else if (kind[j] == 's') {
            if (!(tc[j] = (TextColumn *)tc_new(&TextColumnType, NULL, NULL))) goto done;
        } else if (kind[j] == 'l') {
            if (!(list[j] = PyList_New(m))) goto done;
        }
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *r = PyList_GET_ITEM(rows, i);
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *x = PyTuple_GET_ITEM(r, j);
            switch (kind[j]) {
            case 'i': {
                int64_t *v = (int64_t *)PyBytes_AS_STRING(vals[j]);
                char *k = PyBytes_AS_STRING(mask[j]);
                if (x == Py_None) { v[i] = 0; k[i] = 1; break; }
                int overflow = 0;
                long long y = PyLong_CheckExact(x) ? PyLong_AsLongLongAndOverflow(x, &overflow) : 0;
                if (!PyLong_CheckExact(x) || overflow) { kind[j] = 'o'; break; }
                if (y == -1 && PyErr_Occurred()) goto done;
                v[i] = y;
                k[i] = 0;
                break;
            }
            case 's': {
                const char *u = NULL;
                Py_ssize_t len = 0;
                if (x != Py_None) {
                    if (!PyUnicode_CheckExact(x)) { kind[j] = 'o'; break; }
                    if (!(u = PyUnicode_AsUTF8AndSize(x, &len))) {
                        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) goto done;
                        PyErr_Clear();
                        kind[j] = 'o';
                        break;
                    }
                }
                if (tc_push(tc[j], u, len) < 0) goto done;
                break;
            }
            case 't':
                if (!time_us(x, (int64_t *)PyBytes_AS_STRING(vals[j]) + i)) kind[j] = 'o';
                break;
            case 'l':
                Py_INCREF(x);
                PyList_SET_ITEM(list[j], i, x);
                break;
            }
        }
    }
    if (!(out = PyList_New(n))) goto done;
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *col;
        if (kind[j] == 'o') {                    /* a value that does not fit: the list */
            if (!(col = PyList_New(m))) { Py_CLEAR(out); goto done; }
            for (Py_ssize_t i = 0; i < m; i++) {
                PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(rows, i), j);
                Py_INCREF(v);
                PyList_SET_ITEM(col, i, v);
            }
        } else if (kind[j] == 'i') {
            col = PyTuple_Pack(2, vals[j], mask[j]);
        } else if (kind[j] == 't') {
            col = vals[j];
            vals[j] = NULL;
        } else if (kind[j] == 's') {
            col = tc_take(tc[j], NULL);
        } else if (kind[j] == 'l') {
            col = list[j];
            list[j] = NULL;
        } else {
            col = Py_None;
            Py_INCREF(col);
        }
        if (!col) { Py_CLEAR(out); goto done; }
        PyList_SET_ITEM(out, j, col);
    }
done:
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_XDECREF(vals[j]);
        Py_XDECREF(mask[j]);
        Py_XDECREF(list[j]);
        Py_XDECREF((PyObject *)tc[j]);
    }
    return out;
}

static PyObject *configure(PyObject *self, PyObject *args)
{
    PyObject *dm, *ec;
    Py_ssize_t cap;
    if (!PyArg_ParseTuple(args, "OOn", &dm, &ec, &cap)) return NULL;
    Py_INCREF(dm);
    Py_INCREF(ec);
    Py_XSETREF(py_data_message, dm);
    Py_XSETREF(py_event_columns, ec);
    value_cap = cap;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"row", (PyCFunction)(void (*)(void))row, METH_FASTCALL,
     "row(rid, ev, message_col, data_col) -> the timeline row tuple of a decoded Rust JSON "
     "record (its message and data appended to the two TextColumns, None in the tuple), or "
     "None (nothing appended)"},
    {"row_json", (PyCFunction)(void (*)(void))row_json, METH_FASTCALL,
     "row_json(rid, text, message_col, data_col) -> row(rid, orjson.loads(text), ...) read "
     "from the Rust reader's JSON text itself, or None (not taken: nothing appended)"},
    {"drive", (PyCFunction)(void (*)(void))drive, METH_FASTCALL,
     "drive(iterator, seen, pending, mcol, dcol, batch, cap, check) -> None (the end), True "
     "(pending is full) or a record for the caller's own loop"},
    {"append_text", (PyCFunction)(void (*)(void))append_text, METH_FASTCALL,
     "append_text(message_col, data_col, message, data): one row's text, both or neither"},
    {"convert", convert, METH_VARARGS,
     "convert(rows, kinds) -> per column: int64 buffers ('i'), text buffers ('s'), None "
     "('-') or the list of its values"},
    {"configure", configure, METH_VARARGS,
     "configure(data_message, event_columns, value_cap): eventcommon's functions"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastrow", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

#define INTERN(var, text) if (!((var) = PyUnicode_InternFromString(text))) return NULL

PyMODINIT_FUNC PyInit__fastrow(void)
{
    INTERN(K_Event, "Event"); INTERN(K_System, "System"); INTERN(K_UserData, "UserData");
    INTERN(K_Provider, "Provider"); INTERN(K_attributes, "#attributes");
    INTERN(K_TimeCreated, "TimeCreated"); INTERN(K_SystemTime, "SystemTime");
    INTERN(K_EventID, "EventID"); INTERN(K_EventRecordID, "EventRecordID");
    INTERN(K_Level, "Level"); INTERN(K_EventSourceName, "EventSourceName");
    INTERN(K_EventData, "EventData"); INTERN(K_Correlation, "Correlation");
    INTERN(K_ActivityID, "ActivityID"); INTERN(K_Execution, "Execution");
    INTERN(K_ProcessID, "ProcessID"); INTERN(K_Security, "Security");
    INTERN(K_UserID, "UserID"); INTERN(K_Channel, "Channel"); INTERN(K_text, "#text");
    INTERN(K_Computer, "Computer"); INTERN(K_Name, "Name");
    INTERN(K_event_record_id, "event_record_id"); INTERN(K_data, "data");
    INTERN(K_1601, "1601-01-01T00:00:00"); INTERN(K_empty, "");
    memset(BY_LEN, -1, sizeof BY_LEN);
    for (int c = 0; c < 0x20; c++) JSPECIAL[c] = 1;
    JSPECIAL['"'] = JSPECIAL['\\'] = 1;
    for (int i = 0; i < NF; i++) {
        size_t n = strlen(FNAMES[i]);
        int j = 0;
        while (n < MAXLEN && j < PER_LEN && BY_LEN[n][j] >= 0) j++;
        if (n >= MAXLEN || j >= PER_LEN - 1) {  /* (seven names of 6 characters today) */
            PyErr_SetString(PyExc_SystemError, "_fastrow: the field-name table is too small");
            return NULL;
        }
        BY_LEN[n][j] = (signed char)i;
    }
    if (PyType_Ready(&TextColumnType) < 0 || PyType_Ready(&OwnedType) < 0) return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (!mod) return NULL;
    Py_INCREF(&TextColumnType);
    if (PyModule_AddObject(mod, "TextColumn", (PyObject *)&TextColumnType) < 0) {
        Py_DECREF(&TextColumnType);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
