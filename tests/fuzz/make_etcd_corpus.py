#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed corpus of the etcd fuzz target (tests/fuzz/corpus/etcd/).

Each input is one byte naming the kind of answer (enum etcd_answer in
etcd/etcd.h) followed by the body as etcd 3.4's gateway sent it: the
valid answers below were captured from etcd 3.4.23 (Debian 12), the malformed
ones are edits of them. Run it from anywhere:

    python3 tests/fuzz/make_etcd_corpus.py [OUTDIR]
"""

import os
import sys

RANGE, TXN, GRANT, KEEPALIVE, REVOKE, STATUS, WATCH, ERROR = range(8)

H = '"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"3","raft_term":"2"}'
KV = '{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}'

SEEDS = {
    # range
    'range-one': (RANGE, '{%s,"kvs":[%s],"count":"1"}' % (H, KV)),
    'range-empty': (RANGE, '{%s}' % H),
    'range-more': (RANGE, '{%s,"kvs":[%s,%s],"more":true,"count":"7"}' % (H, KV, KV)),
    'range-count-only': (RANGE, '{%s,"count":"1"}' % H),
    'range-int-numbers': (RANGE, '{"header":{"revision":3},"count":1}'),
    'range-bad-base64': (RANGE, '{%s,"kvs":[{"key":"Zm9v!"}]}' % H),
    'range-revision-too-big': (RANGE, '{"header":{"revision":"9223372036854775808"}}'),
    'range-negative-count': (RANGE, '{%s,"count":"-1"}' % H),
    'range-kvs-not-array': (RANGE, '{%s,"kvs":{}}' % H),
    'range-more-string': (RANGE, '{%s,"more":"true"}' % H),
    'range-truncated': (RANGE, '{%s,"kvs":[%s' % (H, KV)),
    'range-trailing': (RANGE, '{%s} x' % H),
    'range-deep': (RANGE, '{"a":' * 40 + '1' + '}' * 40),
    'range-float': (RANGE, '{"header":{"revision":1.5}}'),
    # txn
    'txn-put-prev': (TXN, '{%s,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"},"prev_kv":%s}}]}' % (H, KV)),
    'txn-failure-range': (TXN, '{%s,"responses":[{"response_range":{"header":{"revision":"4"},"kvs":[%s],"count":"1"}}]}' % (H, KV)),
    'txn-delete': (TXN, '{%s,"succeeded":true,"responses":[{"response_delete_range":{"header":{"revision":"5"},"deleted":"1","prev_kvs":[%s]}}]}' % (H, KV)),
    'txn-no-ops': (TXN, '{%s,"succeeded":true}' % H),
    'txn-two-in-one': (TXN, '{%s,"responses":[{"response_put":{},"response_range":{}}]}' % H),
    'txn-nested': (TXN, '{%s,"responses":[{"response_txn":{"succeeded":true}}]}' % H),
    'txn-empty-op': (TXN, '{%s,"responses":[{}]}' % H),
    # leases
    'grant': (GRANT, '{%s,"ID":"4111120350077104651","TTL":"5"}' % H),
    'grant-no-id': (GRANT, '{%s,"TTL":"5"}' % H),
    'grant-error-field': (GRANT, '{%s,"ID":"1","TTL":"5","error":"lease exists"}' % H),
    'keepalive': (KEEPALIVE, '{"result":{%s,"ID":"4111120350077104665","TTL":"2"}}\n' % H),
    'keepalive-gone': (KEEPALIVE, '{"result":{%s,"ID":"4111120350077104665"}}\n' % H),
    'keepalive-no-leader': (KEEPALIVE, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}'),
    'keepalive-neither': (KEEPALIVE, '{"other":{}}'),
    'revoke': (REVOKE, '{%s}' % H),
    # status
    'status': (STATUS, '{%s,"version":"3.4.23","dbSize":"20480","leader":"13668033151171901709","raftIndex":"6","raftTerm":"2","raftAppliedIndex":"6","dbSizeInUse":"16384"}' % H),
    'status-alarm': (STATUS, '{%s,"version":"3.4.23","errors":["memberID:1 alarm:NOSPACE "]}' % H),
    'status-bad-errors': (STATUS, '{%s,"errors":[1]}' % H),
    # watch stream messages
    'watch-created': (WATCH, '{"result":{%s,"created":true}}' % H),
    'watch-put': (WATCH, '{"result":{%s,"events":[{"kv":{"key":"YTE=","create_revision":"6","mod_revision":"6","version":"1","value":"MQ=="}}]}}' % H),
    'watch-put-prev': (WATCH, '{"result":{%s,"events":[{"kv":{"key":"YTE=","create_revision":"6","mod_revision":"7","version":"2","value":"Mg=="},"prev_kv":{"key":"YTE=","create_revision":"6","mod_revision":"6","version":"1","value":"MQ=="}}]}}' % H),
    'watch-delete': (WATCH, '{"result":{%s,"events":[{"type":"DELETE","kv":{"key":"YTE=","mod_revision":"8"},"prev_kv":{"key":"YTE=","create_revision":"6","mod_revision":"7","version":"2","value":"Mg=="}}]}}' % H),
    'watch-compacted': (WATCH, '{"result":{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","raft_term":"2"},"canceled":true,"compact_revision":"7"}}'),
    'watch-progress': (WATCH, '{"result":{%s}}' % H),
    'watch-no-leader': (WATCH, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}'),
    'watch-closing': (WATCH, '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}'),
    'watch-out-of-order': (WATCH, '{"result":{"events":[{"kv":{"key":"YQ==","mod_revision":"9"}},{"kv":{"key":"YQ==","mod_revision":"8"}}]}}'),
    'watch-no-kv': (WATCH, '{"result":{"events":[{"type":"PUT"}]}}'),
    'watch-bad-type': (WATCH, '{"result":{"events":[{"type":"EXPIRE","kv":{"key":"YQ==","mod_revision":"8"}}]}}'),
    'watch-type-number': (WATCH, '{"result":{"events":[{"type":1,"kv":{"key":"YQ==","mod_revision":"8"}}]}}'),
    # error bodies
    'error-compacted': (ERROR, '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}'),
    'error-future': (ERROR, '{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}'),
    'error-lease': (ERROR, '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'),
    'error-duplicate': (ERROR, '{"error":"etcdserver: duplicate key given in txn request","message":"etcdserver: duplicate key given in txn request","code":3}'),
    'error-timeout': (ERROR, '{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}'),
    'error-deadline': (ERROR, '{"error":"context deadline exceeded","message":"context deadline exceeded","code":2}'),
    'error-json': (ERROR, '{"error":"invalid character \'g\' looking for beginning of value","message":"invalid character \'g\' looking for beginning of value","code":3}'),
    'error-not-json': (ERROR, 'Not Found\n'),
    'error-stream': (ERROR, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}'),
    # found by fuzz_etcd: a code out of range must fail with a reason
    'error-code-out-of-range': (WATCH, '{"error":{"grpc_code":14666666666666,"http_code":503,"message":"transpble"}}'),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'corpus', 'etcd')
    os.makedirs(out, exist_ok=True)
    for name, (kind, body) in sorted(SEEDS.items()):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes([kind]) + body.encode())
    print('%d seeds in %s' % (len(SEEDS), out))


if __name__ == '__main__':
    main()
