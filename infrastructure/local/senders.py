"""The senders of the sample month (helpdesks, the DMS, the survey tool), in a process of their own: they are
not part of Pitcrew, and on two cores they should not share an interpreter lock with it.

Several senders post concurrently, each over a kept-alive connection, in arrival order, signing at send time.
The local stack paces them (JSON lines): before each chunk (at most 100 deliveries and 10 simulated minutes) the
senders print `{"done": n, "clock": t}` (t: the simulated send time of the chunk's first delivery) and wait for a
line on stdin, so the stack can fire the schedules due by t and hold the senders while its queue is deep. At the
end they print `{"outcomes": [...]}`: one `[status, body]` per delivery, in order (body only for non-200 answers).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from infrastructure.local.sample_month import Delivery, generate
from infrastructure.local.stack import LOCAL_SECRETS

CHUNK = 100
CHUNK_SPAN = timedelta(minutes=10)


class Sender(threading.local):
    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def post(self, delivery: Delivery) -> tuple[int, str]:
        path, headers = delivery.request(LOCAL_SECRETS, int(time.time()))
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=120)
            try:
                self.connection.request('POST', path, body=delivery.body, headers=headers)
                response = self.connection.getresponse()
                body = response.read().decode()
                if response.status >= 500 and attempt == 0:
                    time.sleep(1)  # helpdesks retry a 5xx answer; so do these senders, once
                    path, headers = delivery.request(LOCAL_SECRETS, int(time.time()))
                    continue
                return response.status, '' if response.status == 200 else body
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError('unreachable')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--seed', type=int, required=True)
    parser.add_argument('--scale', type=float, required=True)
    parser.add_argument('--senders', type=int, default=3)
    parser.add_argument('--clean', action='store_true')
    args = parser.parse_args()
    deliveries = generate(seed=args.seed, scale=args.scale, clean=args.clean).deliveries
    sender = Sender(args.port)
    outcomes: list[tuple[int, str]] = []
    with ThreadPoolExecutor(args.senders) as pool:
        start = 0
        while start < len(deliveries):
            # A chunk ends after CHUNK deliveries or CHUNK_SPAN of simulated time, so the stack's schedules (the
            # alert scan above all) run at least that often on the simulated clock.
            end = start + 1
            while end < len(deliveries) and end - start < CHUNK and deliveries[end].at - deliveries[start].at < CHUNK_SPAN:
                end += 1
            chunk = deliveries[start:end]
            print(json.dumps({'done': start, 'clock': chunk[0].at.isoformat()}), flush=True)
            if not sys.stdin.readline():
                return  # the stack went away
            outcomes.extend(pool.map(sender.post, chunk))
            start = end
    print(json.dumps({'done': len(deliveries), 'outcomes': outcomes}), flush=True)


if __name__ == '__main__':
    main()
