"""gunicorn's settings for the web service, the one place they are set.

Read by the Dockerfile's CMD, docker-compose.yml's web service and
`bench/load_annotators.py --server gunicorn`, each as
`gunicorn --config config/gunicorn.conf.py`.
Chosen from that benchmark (bench/README.md, "Concurrent annotators"): 50 annotators
taking and submitting tasks through the API, PostgreSQL, 2 cores. A sync worker serves
one request at a time and sits idle while PostgreSQL answers, so 50 clients queue
behind 3 of them (p99 submit 1.8-2.1 s); threads let a worker run another request
meanwhile. Threaded workers gave the lower tails (2 x 4, 2 x 8, 3 x 4 and 4 x 4 alike
within the run-to-run spread); 2 x 4 is one process per core with the fewest
database connections. Each thread keeps its own connection (CONN_MAX_AGE), so
workers x threads connections stay open: keep that under PostgreSQL's
max_connections (100 by default) less the Celery workers' own.

The environment overrides each default; gunicorn's own command-line flags override
everything here.
"""

import os


def env_int(name: str, default: int) -> int:
    """An integer from the environment; unset or empty (what compose passes for an
    unset `${NAME:-}`) is the default."""
    return int(os.environ.get(name) or default)


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
worker_class = "gthread"
# Processes: about one per core the web service may use (gunicorn's WEB_CONCURRENCY).
workers = env_int("WEB_CONCURRENCY", 2)
threads = env_int("GUNICORN_THREADS", 4)
# A worker silent this long is restarted. With threads the worker's main loop keeps
# beating while a request runs, so this bounds a hung worker, not a slow request;
# long work (imports, exports, training) runs on the Celery workers.
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
# Seconds an idle keep-alive connection is held (behind a proxy that reuses them).
keepalive = 5
# The heartbeat file: in a container /tmp may sit on a slow overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
