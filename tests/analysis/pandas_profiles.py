#!/usr/bin/env python3
"""The community profile computed by pandas, as the reference for Shequ's analysis.

Reads the scoring columns of an XLSForm (score_dimension, score_reverse, need_group,
severity_of) and an ODK-style wide CSV export (Shequ's `shequ export --format csv`), and
prints per community: n, each dimension's score / n / SD, the need degree of every choice
of every need item, the share, mean severity and index of every problem. Relevance of a
need item is re-derived from the raw answers with the rule the scale states
(`selected(${a_household}, 'elderly')` …), so Shequ's expression evaluation is checked
too, not copied.

    python3 pandas_profiles.py SCALE.xlsx EXPORT.csv [--min 30] [--bench]

With --bench, the CSV is loaded first and only the aggregation is timed (best of 3); the
JSON then carries "seconds".
"""
import json
import re
import sys
import time

import numpy as np
import pandas as pd


def scheme(xlsx):
    survey = pd.read_excel(xlsx, sheet_name="survey", dtype=str).fillna("")
    choices = pd.read_excel(xlsx, sheet_name="choices", dtype=str).fillna("")
    lists = {k: list(g["name"]) for k, g in choices.groupby("list_name", sort=False)}
    group = ""
    dims, needs, problems, severity = {}, [], None, {}
    for _, row in survey.iterrows():
        t = row["type"].strip()
        if t == "begin group":
            group = row["name"]
            continue
        if t == "end group":
            continue
        col = f"{group}/{row['name']}"
        lst = t.split(" ")[1] if " " in t else ""
        if row.get("score_dimension"):
            values = [float(x) for x in lists[lst]]
            dims.setdefault(row["score_dimension"], []).append(
                (col, row.get("score_reverse", "") == "yes", min(values), max(values)))
        if row.get("need_group"):
            rel = row.get("relevant", "")
            m = re.fullmatch(r"selected\(\$\{(\w+)\}, '(\w+)'\)", rel.strip())
            item = (col, row["need_group"], lists[lst], m.groups() if m else None)
            if row["need_group"] == "problem":
                problems = item
            else:
                needs.append(item)
        if row.get("severity_of"):
            severity[row["severity_of"]] = col
    return dims, needs, problems, severity


def column_of(df, name):
    """The CSV column of a question by its name (`A/a_household` for `a_household`)."""
    return next(c for c in df.columns if c.split("/")[-1] == name and c.count("/") == 1)


def aggregate(df, dims, needs, problems, severity, minimum):
    out = {}
    code = "shequ/community_code"
    scores = {}
    for dim, items in dims.items():
        parts = []
        for col, rev, lo, hi in items:
            x = pd.to_numeric(df[col], errors="coerce")
            x = x.where((x >= lo) & (x <= hi))
            if rev:
                x = lo + hi - x
            parts.append((x - lo) / (hi - lo) * 100)
        m = pd.concat(parts, axis=1)
        answered = m.notna().sum(axis=1)
        s = m.mean(axis=1).where(answered * 2 >= len(items))
        scores[dim] = s
    frame = pd.DataFrame(scores)
    frame[code] = df[code]
    n = df.groupby(code).size()
    g = frame.groupby(code)
    mean, count, sd = g.mean(), g.count(), g.std(ddof=1)

    # Needs: applied = relevant (re-derived); ticked = the choice's 0/1 column is 1.
    need_out = {}
    for col, grp, chs, rel in needs:
        if rel:
            applied = df[column_of(df, rel[0])].fillna("").str.split().apply(lambda v, c=rel[1]: c in v)
        else:
            applied = pd.Series(True, index=df.index)
        ticks = pd.DataFrame({c: (pd.to_numeric(df[f"{col}/{c}"], errors="coerce") == 1) & applied for c in chs})
        ticks["_applied"] = applied
        ticks[code] = df[code]
        s = ticks.groupby(code).sum()
        need_out[col.split("/")[-1]] = s[chs].div(s["_applied"].where(s["_applied"] > 0), axis=0) * 100

    prob_out = {}
    if problems:
        col, _, chs, _ = problems
        for c in chs:
            ticked = pd.to_numeric(df[f"{col}/{c}"], errors="coerce") == 1
            sev = pd.to_numeric(df[severity[c]], errors="coerce").where(ticked) if c in severity else None
            t = pd.DataFrame({"t": ticked, code: df[code]})
            share = t.groupby(code)["t"].mean() * 100
            if sev is not None:
                msev = pd.DataFrame({"s": sev, code: df[code]}).groupby(code)["s"].mean()
                prob_out[c] = (share, msev, share * msev.fillna(0).where(share > 0, 0))
            else:
                prob_out[c] = (share, None, None)

    for community, size in n.items():
        if size < minimum:
            continue
        rec = {"n": int(size), "dimensions": {}, "needs": {}, "problems": {}}
        for dim in dims:
            rec["dimensions"][dim] = {
                "score": none(mean.at[community, dim]),
                "n": int(count.at[community, dim]),
                "sd": none(sd.at[community, dim]),
            }
        for item, table in need_out.items():
            rec["needs"][item] = {c: none(table.at[community, c]) for c in table.columns}
        for c, (share, msev, index) in prob_out.items():
            rec["problems"][c] = {
                "share": none(share.get(community)),
                "severity": none(msev.get(community)) if msev is not None else None,
                "index": none(index.get(community)) if index is not None else None,
            }
        out[community] = rec
    return out


def none(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def main():
    args = sys.argv[1:]
    minimum = 30
    if "--min" in args:
        minimum = int(args[args.index("--min") + 1])
    bench = "--bench" in args
    xlsx, csv = args[0], args[1]
    dims, needs, problems, severity = scheme(xlsx)
    df = pd.read_csv(csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    best = None
    for _ in range(3 if bench else 1):
        t0 = time.perf_counter()
        out = aggregate(df, dims, needs, problems, severity, minimum)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    if bench:
        out = {"seconds": best, "communities": len(out)}
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
