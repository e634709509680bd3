#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small ivshmem server for guest tests (QEMU's ivshmem-spec.txt, "Client-Server Protocol").

Usage: ivshmem_server.py [--vectors N] [--size BYTES] SOCKET

Listens on the unix socket SOCKET for `-chardev socket,path=SOCKET -device ivshmem-doorbell,...`
clients and serves one memfd of --size bytes to all of them. Each message is an 8-byte
little-endian signed number, with at most one fd attached (SCM_RIGHTS). To a new client: the
version 0, its ID (the lowest free one, from 0), -1 + the memfd, every existing peer's ID once per
vector + that peer's eventfd for the vector, its own ID once per vector + its own eventfds. Then
every old peer gets the new ID + eventfds; a disconnect is announced as the bare ID. Prints
`listening` on stdout once clients can connect; logs peers on stderr. Test tooling only.

IDs count up from 0 and are never reused: QEMU 7.2's ivshmem frees a peer's eventfd array on its
disconnect without forgetting it, so a later connect under the same ID writes to freed memory (and
unplugging a device that saw a disconnect frees the array twice).
"""

import argparse
import os
import selectors
import signal
import socket
import struct
import sys


def log(message):
    print(f"ivshmem_server: {message}", file=sys.stderr, flush=True)


def send(conn, value, fd=None):
    """Sends one protocol message: VALUE as int64 LE, with FD attached if given."""
    ancillary = []
    if fd is not None:
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))]
    conn.sendmsg([struct.pack("<q", value)], ancillary)


class Server:
    def __init__(self, path, size, vectors):
        self.vectors = vectors
        self.memfd = os.memfd_create("ivshmem", os.MFD_CLOEXEC)
        os.ftruncate(self.memfd, size)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.peers = {}  # id -> (connection, [eventfd per vector])
        self.next_id = 0

    def accept(self):
        conn, _ = self.listener.accept()
        if self.next_id > 65535:
            log("out of peer IDs (65536 served): refusing a client")
            conn.close()
            return
        peer_id = self.next_id
        self.next_id += 1
        eventfds = [os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC) for _ in range(self.vectors)]
        try:
            send(conn, 0)  # protocol version
            send(conn, peer_id)
            send(conn, -1, self.memfd)
            for other_id, (_, other_fds) in sorted(self.peers.items()):
                for fd in other_fds:
                    send(conn, other_id, fd)
            for fd in eventfds:
                send(conn, peer_id, fd)
        except OSError as error:
            log(f"peer {peer_id}: setup failed: {error}")
            conn.close()
            for fd in eventfds:
                os.close(fd)
            return
        for other_id, (other_conn, _) in list(self.peers.items()):
            if other_id not in self.peers:
                continue  # dropped meanwhile
            try:
                for fd in eventfds:
                    send(other_conn, peer_id, fd)
            except OSError:
                self.drop(other_id)
        self.peers[peer_id] = (conn, eventfds)
        self.selector.register(conn, selectors.EVENT_READ, peer_id)
        log(f"peer {peer_id} connected")

    def drop(self, peer_id):
        """Forgets a disconnected peer and tells the others (its ID without an fd)."""
        conn, eventfds = self.peers.pop(peer_id)
        self.selector.unregister(conn)
        conn.close()
        for fd in eventfds:
            os.close(fd)
        log(f"peer {peer_id} disconnected")
        for other_id, (other_conn, _) in list(self.peers.items()):
            if other_id not in self.peers:
                continue  # dropped meanwhile
            try:
                send(other_conn, peer_id)
            except OSError:
                self.drop(other_id)

    def run(self):
        print("listening", flush=True)
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.listener:
                    self.accept()
                elif key.data in self.peers:
                    try:  # clients never send; readable means closed (or a protocol error)
                        data = key.fileobj.recv(64)
                    except OSError:
                        data = b""
                    if not data:
                        self.drop(key.data)


def main():
    parser = argparse.ArgumentParser(description="minimal ivshmem server for tests")
    parser.add_argument("--vectors", type=int, default=1, help="interrupt vectors per peer")
    parser.add_argument("--size", type=int, default=1 << 20, help="shared memory bytes")
    parser.add_argument("socket", help="unix socket path to listen on")
    args = parser.parse_args()
    if not 1 <= args.vectors <= 1024 or args.size <= 0:
        parser.error("--vectors must be 1..1024 and --size positive")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(args.socket, args.size, args.vectors)
    try:
        server.run()
    finally:
        os.unlink(args.socket)


if __name__ == "__main__":
    main()
