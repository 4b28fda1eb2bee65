#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Records benchmark figures in bench/results.json (or $RESULTS): a JSON array
of {name, unit, ila, baseline, ratio, better}. A new figure replaces the one
of the same name; the others are kept. The file is replaced atomically.

    python3 bench/record.py NEW.json     merges the array in NEW.json, prints it
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def record(rows, path=None):
    path = path or os.environ.get('RESULTS', os.path.join(HERE, 'results.json'))
    data = []
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, list):
            sys.exit('%s: not a JSON array' % path)
    names = {r['name'] for r in rows}
    data = [e for e in data if not (isinstance(e, dict) and e.get('name') in names)] + list(rows)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: record.py NEW.json')
    with open(sys.argv[1]) as f:
        new = json.load(f)
    record(new)
    for e in new:
        print('%s: ila %s %s, baseline %s %s, ratio %.3f (%s is better)'
              % (e['name'], e['ila'], e['unit'], e['baseline'], e['unit'], e['ratio'], e['better']))
