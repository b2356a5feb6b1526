#!/usr/bin/env python3
"""moto server, with DynamoDB applying one write at a time.

Run with the Python that has moto installed (`.venv/bin/python scripts/moto_server.py
-H 127.0.0.1 -p 8000`); it takes moto_server's -H/-p options and serves the same app.

Why: moto server is a threaded werkzeug server, and its DynamoDB backend checks a
conditional write's condition and applies the write without a lock, so two concurrent
conditional writes can both succeed where DynamoDB refuses one (two monthly sessions
in one period, say). moto offers no switch for it (moto/server.py always runs
`threaded=True`, and its one lock only guards choosing a backend), so this launcher
wraps moto's WSGI app and holds one lock around every DynamoDB write (`X-Amz-Target:
DynamoDB_20120810.UpdateItem`, PutItem, DeleteItem, BatchWriteItem,
TransactWriteItems): each conditional write is checked and applied as one step, as
DynamoDB does. Reads, other services (SES) and /moto-api stay concurrent: serialising
them too made moto (tens of ms a request on a loaded machine) queue a burst of 50
clicks past the SDK's 3-second attempt timeout.
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


# DynamoDB's operations that write items.
WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
}


class OneDynamoDBWriteAtATime:
    """WSGI middleware: DynamoDB writes run (and their answers are read) under one lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        if not (service.startswith("DynamoDB_") and operation in WRITES):
            return self.app(environ, start_response)
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    run_simple(
        args.host,
        args.port,
        OneDynamoDBWriteAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
