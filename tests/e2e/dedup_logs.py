#!/usr/bin/env python3
"""dedup_logs.py -- merge the flow logs of several collectors (sctp_recv -o)
and drop duplicate messages.

    dedup_logs.py OUT.jsonl IN.jsonl [IN.jsonl ...]

Every record line carries "_m", a digest of the export message it came in.
A message that reached more than one collector (re-sent to the backup after
a fail-over) or the same collector twice appears as several runs of lines
with the same "_m"; only its first run is kept. Prints one JSON line:
{"messages": N, "records": R, "duplicateMessages": D, "duplicateRecords": DR}.
Python 3 standard library only.
"""
import json
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    seen = set()
    msgs = recs = dmsgs = drecs = 0
    with open(sys.argv[1], "w") as out:
        for path in sys.argv[2:]:
            cur, keep = None, True
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    key = json.loads(line).get("_m")
                    if key != cur:
                        cur = key
                        keep = key not in seen
                        seen.add(key)
                        if keep:
                            msgs += 1
                        else:
                            dmsgs += 1
                    if keep:
                        out.write(line + "\n")
                        recs += 1
                    else:
                        drecs += 1
    print(json.dumps({"messages": msgs, "records": recs, "duplicateMessages": dmsgs,
                      "duplicateRecords": drecs}))


if __name__ == "__main__":
    main()
