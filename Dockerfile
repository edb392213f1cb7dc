# The image for docker-compose.yml's web and worker services.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY annotate ./annotate
COPY api ./api
COPY training ./training
COPY templates ./templates
COPY static ./static
COPY manage.py ./
# torch is pinned first: the project's range admits it, and pip then keeps it.
RUN pip install torch==2.13.0 && pip install .
RUN STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput
EXPOSE 8000
# Worker class, workers, threads, timeouts: config/gunicorn.conf.py (env overrides).
CMD ["gunicorn", "--config", "config/gunicorn.conf.py"]
