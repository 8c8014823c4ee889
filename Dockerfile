# Production image: gunicorn serving authsite with WhiteNoise for static files.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements/main.txt requirements/main.txt
RUN pip install --require-hashes -r requirements/main.txt

COPY . .
# Static files are collected at build time; the throwaway key never reaches a running container.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only-build-key STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --no-create-home app

USER app
ENV DJANGO_DEBUG=false STATIC_ROOT=/app/staticfiles PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn authsite.wsgi --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-2} --access-logfile - --forwarded-allow-ips='*'"]
