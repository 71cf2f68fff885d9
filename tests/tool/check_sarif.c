/*
 * check_sarif.c - check a SARIF file against what the SARIF 2.1.0 schema
 * requires of the objects lockgraph writes, without a network download of
 * the schema: every "required" property of sarifLog, run, tool,
 * toolComponent, reportingDescriptor, multiformatMessageString, result,
 * message (text or id), location, physicalLocation (address or
 * artifactLocation), region (startLine >= 1), codeFlow (threadFlows, at
 * least one), threadFlow (locations, at least one), stack (frames),
 * invocation (executionSuccessful) and notification (message); the enums
 * of result.level and notification.level; ruleId/ruleIndex naming a rule
 * of the driver; location ids >= -1; and the types of all of them.
 *
 * usage: check_sarif FILE [MIN_RESULTS]; prints every problem with a JSON
 * path, exits 1 on any.
 */
#include <json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int problems;

static void bad(const char *path, const char *what)
{
    printf("check_sarif: %s: %s\n", path, what);
    problems++;
}

static json_object *member(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v))
        return v;
    return NULL;
}

static json_object *need(json_object *o, const char *path, const char *k, json_type t)
{
    json_object *v = member(o, k);
    char msg[256];
    if (!v) {
        snprintf(msg, sizeof msg, "required \"%s\" missing", k);
        bad(path, msg);
        return NULL;
    }
    if (!json_object_is_type(v, t)) {
        snprintf(msg, sizeof msg, "\"%s\" has the wrong type", k);
        bad(path, msg);
        return NULL;
    }
    return v;
}

static json_object *may(json_object *o, const char *path, const char *k, json_type t)
{
    json_object *v = member(o, k);
    if (v && !json_object_is_type(v, t)) {
        char msg[256];
        snprintf(msg, sizeof msg, "\"%s\" has the wrong type", k);
        bad(path, msg);
        return NULL;
    }
    return v;
}

static void sub(char *out, size_t len, const char *path, const char *k, long i)
{
    if (i >= 0)
        snprintf(out, len, "%s.%s[%ld]", path, k, i);
    else
        snprintf(out, len, "%s.%s", path, k);
}

static void check_message(json_object *m, const char *path)
{
    if (!m)
        return;
    if (!json_object_is_type(m, json_type_object)) {
        bad(path, "a message is not an object");
        return;
    }
    json_object *t = may(m, path, "text", json_type_string),
                *id = may(m, path, "id", json_type_string);
    if (!t && !id)
        bad(path, "a message has neither \"text\" nor \"id\"");
    if (t && !*json_object_get_string(t))
        bad(path, "an empty message text");
}

static void check_mfms(json_object *m, const char *path)
{
    if (m && need(m, path, "text", json_type_string) == NULL)
        return;
}

static void check_location(json_object *l, const char *path)
{
    char p[512];
    if (!json_object_is_type(l, json_type_object)) {
        bad(path, "a location is not an object");
        return;
    }
    json_object *id = may(l, path, "id", json_type_int);
    if (id && json_object_get_int64(id) < -1)
        bad(path, "location id below -1");
    json_object *phys = may(l, path, "physicalLocation", json_type_object);
    if (phys) {
        sub(p, sizeof p, path, "physicalLocation", -1);
        json_object *art = may(phys, p, "artifactLocation", json_type_object);
        json_object *addr = may(phys, p, "address", json_type_object);
        if (!art && !addr)
            bad(p, "a physicalLocation has neither \"artifactLocation\" nor \"address\"");
        if (art) {
            char q[600];
            sub(q, sizeof q, p, "artifactLocation", -1);
            json_object *uri = may(art, q, "uri", json_type_string);
            may(art, q, "uriBaseId", json_type_string);
            if (uri && !*json_object_get_string(uri))
                bad(q, "an empty uri");
        }
        json_object *region = may(phys, p, "region", json_type_object);
        if (region) {
            char q[600];
            sub(q, sizeof q, p, "region", -1);
            json_object *sl = may(region, q, "startLine", json_type_int);
            if (sl && json_object_get_int64(sl) < 1)
                bad(q, "startLine below 1");
        }
    }
    json_object *ll = may(l, path, "logicalLocations", json_type_array);
    for (size_t i = 0; ll && i < json_object_array_length(ll); i++)
        if (!json_object_is_type(json_object_array_get_idx(ll, i), json_type_object))
            bad(path, "a logicalLocation is not an object");
    json_object *msg = member(l, "message");
    if (msg) {
        sub(p, sizeof p, path, "message", -1);
        check_message(msg, p);
    }
}

static void check_locations(json_object *arr, const char *path, const char *k)
{
    char p[512];
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        sub(p, sizeof p, path, k, (long)i);
        check_location(json_object_array_get_idx(arr, i), p);
    }
}

static void check_result(json_object *r, const char *path, json_object *rules, size_t *with_loc)
{
    char p[512];
    if (!json_object_is_type(r, json_type_object)) {
        bad(path, "a result is not an object");
        return;
    }
    json_object *msg = need(r, path, "message", json_type_object);
    sub(p, sizeof p, path, "message", -1);
    check_message(msg, p);
    json_object *rule_id = may(r, path, "ruleId", json_type_string);
    json_object *idx = may(r, path, "ruleIndex", json_type_int);
    size_t n_rules = rules ? json_object_array_length(rules) : 0;
    if (idx) {
        int64_t i = json_object_get_int64(idx);
        if (i < -1 || (i >= 0 && (size_t)i >= n_rules))
            bad(path, "ruleIndex names no rule of the driver");
        else if (i >= 0 && rule_id &&
                 strcmp(json_object_get_string(
                            member(json_object_array_get_idx(rules, (size_t)i), "id")),
                        json_object_get_string(rule_id)) != 0)
            bad(path, "ruleIndex and ruleId name different rules");
    } else if (rule_id) {
        bool found = false;
        for (size_t i = 0; i < n_rules && !found; i++)
            found =
                !strcmp(json_object_get_string(member(json_object_array_get_idx(rules, i), "id")),
                        json_object_get_string(rule_id));
        if (!found)
            bad(path, "ruleId names no rule of the driver");
    }
    json_object *level = may(r, path, "level", json_type_string);
    if (level) {
        const char *l = json_object_get_string(level);
        if (strcmp(l, "none") && strcmp(l, "note") && strcmp(l, "warning") && strcmp(l, "error"))
            bad(path, "level is not none, note, warning or error");
    }
    json_object *locs = may(r, path, "locations", json_type_array);
    check_locations(locs, path, "locations");
    if (locs && json_object_array_length(locs) > 0)
        (*with_loc)++;
    check_locations(may(r, path, "relatedLocations", json_type_array), path, "relatedLocations");

    json_object *flows = may(r, path, "codeFlows", json_type_array);
    for (size_t i = 0; flows && i < json_object_array_length(flows); i++) {
        json_object *cf = json_object_array_get_idx(flows, i);
        sub(p, sizeof p, path, "codeFlows", (long)i);
        json_object *tfs = need(cf, p, "threadFlows", json_type_array);
        if (tfs && json_object_array_length(tfs) == 0)
            bad(p, "threadFlows is empty (minItems 1)");
        check_message(member(cf, "message"), p);
        for (size_t j = 0; tfs && j < json_object_array_length(tfs); j++) {
            char q[600];
            sub(q, sizeof q, p, "threadFlows", (long)j);
            json_object *tf = json_object_array_get_idx(tfs, j);
            json_object *tl = need(tf, q, "locations", json_type_array);
            if (tl && json_object_array_length(tl) == 0)
                bad(q, "locations is empty (minItems 1)");
            for (size_t k = 0; tl && k < json_object_array_length(tl); k++) {
                char t[700];
                sub(t, sizeof t, q, "locations", (long)k);
                json_object *loc =
                    may(json_object_array_get_idx(tl, k), t, "location", json_type_object);
                if (loc)
                    check_location(loc, t);
            }
        }
    }
    json_object *stacks = may(r, path, "stacks", json_type_array);
    for (size_t i = 0; stacks && i < json_object_array_length(stacks); i++) {
        json_object *st = json_object_array_get_idx(stacks, i);
        sub(p, sizeof p, path, "stacks", (long)i);
        json_object *frames = need(st, p, "frames", json_type_array);
        check_message(member(st, "message"), p);
        for (size_t j = 0; frames && j < json_object_array_length(frames); j++) {
            char q[600];
            sub(q, sizeof q, p, "frames", (long)j);
            json_object *loc =
                may(json_object_array_get_idx(frames, j), q, "location", json_type_object);
            if (loc)
                check_location(loc, q);
        }
    }
    may(r, path, "partialFingerprints", json_type_object);
    may(r, path, "properties", json_type_object);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: check_sarif FILE [MIN_RESULTS]\n");
        return 2;
    }
    json_object *root = json_object_from_file(argv[1]);
    if (!root) {
        printf("check_sarif: %s: not JSON\n", argv[1]);
        return 1;
    }
    json_object *version = need(root, "$", "version", json_type_string);
    if (version && strcmp(json_object_get_string(version), "2.1.0") != 0)
        bad("$", "version is not 2.1.0");
    json_object *schema = may(root, "$", "$schema", json_type_string);
    if (!schema || !strstr(json_object_get_string(schema), "2.1.0"))
        bad("$", "no $schema naming SARIF 2.1.0");
    json_object *runs = need(root, "$", "runs", json_type_array);
    size_t results = 0, with_loc = 0;
    for (size_t i = 0; runs && i < json_object_array_length(runs); i++) {
        char p[256], q[300];
        json_object *run = json_object_array_get_idx(runs, i);
        snprintf(p, sizeof p, "$.runs[%zu]", i);
        json_object *tool = need(run, p, "tool", json_type_object);
        sub(q, sizeof q, p, "tool", -1);
        json_object *driver = need(tool, q, "driver", json_type_object);
        char d[400];
        sub(d, sizeof d, q, "driver", -1);
        need(driver, d, "name", json_type_string);
        json_object *rules = may(driver, d, "rules", json_type_array);
        for (size_t k = 0; rules && k < json_object_array_length(rules); k++) {
            char rp[500];
            sub(rp, sizeof rp, d, "rules", (long)k);
            json_object *rule = json_object_array_get_idx(rules, k);
            need(rule, rp, "id", json_type_string);
            check_mfms(may(rule, rp, "shortDescription", json_type_object), rp);
            check_mfms(may(rule, rp, "fullDescription", json_type_object), rp);
            check_mfms(may(rule, rp, "help", json_type_object), rp);
            json_object *conf = may(rule, rp, "defaultConfiguration", json_type_object);
            json_object *lv = conf ? may(conf, rp, "level", json_type_string) : NULL;
            if (lv && strcmp(json_object_get_string(lv), "warning") &&
                strcmp(json_object_get_string(lv), "error") &&
                strcmp(json_object_get_string(lv), "note") &&
                strcmp(json_object_get_string(lv), "none"))
                bad(rp, "defaultConfiguration.level is not a level");
        }
        json_object *invs = may(run, p, "invocations", json_type_array);
        for (size_t k = 0; invs && k < json_object_array_length(invs); k++) {
            char ip[500];
            sub(ip, sizeof ip, p, "invocations", (long)k);
            json_object *inv = json_object_array_get_idx(invs, k);
            need(inv, ip, "executionSuccessful", json_type_boolean);
            json_object *notes = may(inv, ip, "toolExecutionNotifications", json_type_array);
            for (size_t j = 0; notes && j < json_object_array_length(notes); j++) {
                char np[600];
                sub(np, sizeof np, ip, "toolExecutionNotifications", (long)j);
                json_object *n = json_object_array_get_idx(notes, j);
                check_message(need(n, np, "message", json_type_object), np);
                json_object *lv = may(n, np, "level", json_type_string);
                if (lv && strcmp(json_object_get_string(lv), "warning") &&
                    strcmp(json_object_get_string(lv), "error") &&
                    strcmp(json_object_get_string(lv), "note") &&
                    strcmp(json_object_get_string(lv), "none"))
                    bad(np, "level is not a level");
            }
        }
        json_object *bases = may(run, p, "originalUriBaseIds", json_type_object);
        if (bases) {
            json_object_object_foreach(bases, k, v)
            {
                char bp[500];
                sub(bp, sizeof bp, p, "originalUriBaseIds", -1);
                if (!json_object_is_type(v, json_type_object))
                    bad(bp, "a base is not an artifactLocation");
                (void)k;
            }
        }
        json_object *res = may(run, p, "results", json_type_array);
        for (size_t k = 0; res && k < json_object_array_length(res); k++) {
            char rp[500];
            sub(rp, sizeof rp, p, "results", (long)k);
            check_result(json_object_array_get_idx(res, k), rp, rules, &with_loc);
            results++;
        }
    }
    long min = argc > 2 ? atol(argv[2]) : 0;
    if ((long)results < min) {
        printf("check_sarif: %zu results, wanted at least %ld\n", results, min);
        problems++;
    }
    json_object_put(root);
    if (problems)
        return 1;
    printf("check_sarif: %s: valid SARIF 2.1.0 (%zu results, %zu with a location)\n", argv[1],
           results, with_loc);
    return 0;
}
