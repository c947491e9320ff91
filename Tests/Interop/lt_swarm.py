"""A swarm of libtorrent DHT nodes on 127.0.0.1, driven line by line from stdin.

Usage: lt_swarm.py COUNT BOOTSTRAP_HOST:PORT

Prints `ready PORT,PORT,...` once the sessions listen, then answers one line per command:
  put_immutable I HEXDATA          -> `target HEX stored N` (v is the byte string HEXDATA)
  get_immutable I TARGET           -> `item HEX_OF_BENCODED_V` or `none`
  put_mutable I SEED PK SALT DATA  -> `put seq N stored M` (v is the byte string DATA; libtorrent
                                      picks seq = stored + 1)
  get_mutable I PK SALT            -> `mutable SEQ HEX_OF_BENCODED_V` or `none`
  nodes I                          -> `nodes N` (size of node I's routing table)
  end
All hex. Only loopback addresses are used; no default bootstrap router is contacted.
"""
import hashlib
import sys
import time

import libtorrent as lt


def make_session(port):
    settings = {
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "dht_prefer_verified_node_ids": False,
        "dht_extended_routing_table": False,
        # Every node here shares 127.0.0.1, so the per-address limits meant for the internet
        # would block the whole test network.
        "dht_block_ratelimit": 1000000,
        "dht_upload_rate_limit": 10000000,
        "alert_mask": lt.alert.category_t.dht_notification | lt.alert.category_t.dht_operation_notification,
    }
    return lt.session(settings)


def orlp_secret(seed):
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


def wait_alert(session, kind, match, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        session.wait_for_alert(200)
        for a in session.pop_alerts():
            if isinstance(a, kind) and match(a):
                return a
    return None


def main():
    count = int(sys.argv[1])
    host, port = sys.argv[2].rsplit(":", 1)
    sessions = []
    ports = []
    for _ in range(count):
        s = make_session(0)
        sessions.append(s)
    time.sleep(0.5)
    for s in sessions:
        ports.append(s.listen_port())
        s.add_dht_node((host, int(port)))
    for i, s in enumerate(sessions):
        if i > 0:
            s.add_dht_node(("127.0.0.1", ports[0]))
    print("ready " + ",".join(str(p) for p in ports), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        if cmd == "end":
            break
        s = sessions[int(parts[1])] if len(parts) > 1 else None
        if cmd == "put_immutable":
            target = s.dht_put_immutable_item(bytes.fromhex(parts[2]))
            a = wait_alert(s, lt.dht_put_alert, lambda a: str(a.target) == str(target))
            print(f"target {target} stored {a.num_success if a else 0}", flush=True)
        elif cmd == "get_immutable":
            target = lt.sha1_hash(bytes.fromhex(parts[2]))
            s.dht_get_immutable_item(target)
            a = wait_alert(s, lt.dht_immutable_item_alert, lambda a: str(a.target) == str(target))
            print("item " + lt.bencode(a.item).hex() if a and a.item is not None else "none", flush=True)
        elif cmd == "put_mutable":
            seed, pk, salt, data = (bytes.fromhex(x) if x != "-" else b"" for x in parts[2:6])
            s.dht_put_mutable_item(orlp_secret(seed), pk, data, salt)
            a = wait_alert(s, lt.dht_put_alert, lambda a: bytes(a.public_key) == pk)
            print(f"put seq {a.seq if a else -1} stored {a.num_success if a else 0}", flush=True)
        elif cmd == "get_mutable":
            pk, salt = (bytes.fromhex(x) if x != "-" else b"" for x in parts[2:4])
            s.dht_get_mutable_item(pk, salt)
            # libtorrent posts a first, non-authoritative answer early; wait for the final one.
            a = wait_alert(s, lt.dht_mutable_item_alert, lambda a: bytes(a.key) == pk and a.authoritative)
            if a and a.item is not None and a.seq > 0:
                print(f"mutable {a.seq} " + lt.bencode(a.item).hex(), flush=True)
            else:
                print("none", flush=True)
        elif cmd == "nodes":
            s.post_dht_stats()
            a = wait_alert(s, lt.dht_stats_alert, lambda a: True, 5)
            n = sum(b["num_nodes"] for b in a.routing_table) if a else 0
            print(f"nodes {n}", flush=True)
        else:
            print("error unknown command", flush=True)


if __name__ == "__main__":
    main()
