#!/usr/bin/env python3
"""ch_proxy.py — a TCP proxy in front of ClickHouse's HTTP port that loses
the answers to the first N inserts: the request reaches the server and is
executed there, but once the server has answered, the proxy closes the
client's connection without passing the answer on. The client cannot tell
whether its insert landed, which is the case duplicate-free retries must
handle.

  ch_proxy.py LISTEN_PORT_FILE UPSTREAM_PORT N

Listens on 127.0.0.1 on a port the kernel picks, writes it to
LISTEN_PORT_FILE, and serves until killed. Prints one line per swallowed
answer on stdout."""
import socket
import sys
import threading

port_file, upstream, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
left = [budget]


def take_budget():
    with lock:
        if left[0] > 0:
            left[0] -= 1
            return True
        return False


def serve(client):
    up = socket.create_connection(("127.0.0.1", upstream))
    swallow = threading.Event()
    done = threading.Event()

    def up_to_client():
        try:
            while True:
                data = up.recv(65536)
                if not data:
                    break
                if swallow.is_set():
                    # the server has answered (the insert is committed):
                    # drop the answer and the connection
                    print("swallowed an insert answer", flush=True)
                    break
                client.sendall(data)
        except OSError:
            pass
        done.set()
        for s in (client, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    t = threading.Thread(target=up_to_client, daemon=True)
    t.start()
    try:
        while not done.is_set():
            data = client.recv(65536)
            if not data:
                break
            # a request starts a chunk on a keep-alive connection
            if data.startswith(b"POST /?query=INSERT") and take_budget():
                swallow.set()
            up.sendall(data)
    except OSError:
        pass
    t.join(timeout=30)
    client.close()
    up.close()


ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os  # noqa: E402

os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
