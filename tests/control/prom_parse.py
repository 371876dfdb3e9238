#!/usr/bin/python3
"""Check a Prometheus text exposition (format 0.0.4) read from stdin.

Parses it with prometheus_client's text_string_to_metric_families (the
reference Python parser) and checks, beyond what the parser enforces:
  - every family declared with "# TYPE" keeps that type after parsing
    (an undeclared or misnamed family would come back "untyped"/"unknown");
  - every family has samples;
  - no family name and no (sample name, labels) pair appears twice;
  - histograms: buckets cumulative (non-decreasing in le), a +Inf bucket,
    _count equal to the +Inf bucket, a _sum.
Prints one summary line on success ("ok: N families, M samples, types ...");
on any error prints the errors to stderr and exits 1. Exit 2: prometheus_client
is not installed (the caller may skip).

Usage: /usr/bin/python3 prom_parse.py < metrics.txt
"""
import collections
import math
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover - environment dependent
    print("prometheus_client is not installed", file=sys.stderr)
    sys.exit(2)


def declared_types(text):
    """The "# TYPE name type" lines, in order."""
    out = collections.OrderedDict()
    errors = []
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            if m.group(1) in out:
                errors.append("TYPE declared twice: %s" % m.group(1))
            out[m.group(1)] = m.group(2)
    return out, errors


def family_key(name, typ):
    """The family name prometheus_client reports for a declared name."""
    if typ == "counter" and name.endswith("_total"):
        return name[: -len("_total")]
    return name


def check(text):
    errors = []
    declared, errs = declared_types(text)
    errors += errs
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own verdict
        return ["parser rejected the exposition: %r" % (e,)], None

    seen_fam = set()
    seen_samples = set()
    nsamples = 0
    types = collections.Counter()
    by_name = {family_key(n, t): (n, t) for n, t in declared.items()}
    for f in families:
        types[f.type] += 1
        if f.name in seen_fam:
            errors.append("family %s appears twice" % f.name)
        seen_fam.add(f.name)
        if f.name not in by_name:
            errors.append("family %s (%s) has no # TYPE line" % (f.name, f.type))
        elif by_name[f.name][1] != f.type:
            errors.append(
                "family %s declared %s, parsed as %s" % (by_name[f.name][0], by_name[f.name][1], f.type)
            )
        if not f.samples:
            errors.append("family %s has no samples" % f.name)
        for s in f.samples:
            nsamples += 1
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen_samples:
                errors.append("duplicate sample %s%s" % (s.name, s.labels))
            seen_samples.add(key)
            if math.isnan(s.value) and f.type != "gauge":
                errors.append("NaN in %s" % s.name)
        if f.type == "histogram":
            errors += check_histogram(f)
    for name, typ in declared.items():
        if family_key(name, typ) not in seen_fam:
            errors.append("declared family %s not parsed" % name)
    return errors, (len(families), nsamples, types)


def check_histogram(f):
    errors = []
    groups = collections.defaultdict(dict)  # labels without le -> parts
    for s in f.samples:
        labels = dict(s.labels)
        le = labels.pop("le", None)
        g = groups[tuple(sorted(labels.items()))]
        if s.name == f.name + "_bucket":
            if le is None:
                errors.append("%s: bucket without le" % f.name)
                continue
            g.setdefault("buckets", []).append((float(le), s.value))
        elif s.name == f.name + "_count":
            g["count"] = s.value
        elif s.name == f.name + "_sum":
            g["sum"] = s.value
        else:
            errors.append("%s: unexpected sample %s" % (f.name, s.name))
    for labels, g in groups.items():
        buckets = g.get("buckets", [])
        les = [le for le, _ in buckets]
        if les != sorted(les) or len(set(les)) != len(les):
            errors.append("%s%s: le bounds not strictly increasing" % (f.name, labels))
        values = [v for _, v in sorted(buckets)]
        if any(b < a for a, b in zip(values, values[1:])):
            errors.append("%s%s: buckets not cumulative" % (f.name, labels))
        if not les or les[-1] != math.inf:
            errors.append("%s%s: no +Inf bucket" % (f.name, labels))
        elif g.get("count") != values[-1]:
            errors.append(
                "%s%s: _count %s != +Inf bucket %s" % (f.name, labels, g.get("count"), values[-1])
            )
        if "sum" not in g:
            errors.append("%s%s: no _sum" % (f.name, labels))
    return errors


def main():
    text = sys.stdin.read()
    errors, summary = check(text)
    if errors:
        for e in errors:
            print("error: " + e, file=sys.stderr)
        return 1
    nfam, nsamples, types = summary
    print(
        "ok: %d families, %d samples, types %s"
        % (nfam, nsamples, ", ".join("%s=%d" % kv for kv in sorted(types.items())))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
