# Production image: gunicorn serving authsite with WhiteNoise for static files.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements/main.txt requirements/main.txt
RUN pip install --require-hashes -r requirements/main.txt \
 && apt-get update && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*

COPY . .
# Static files and translations (.mo) are built at build time; the throwaway key never reaches a
# running container.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only-build-key STATIC_ROOT=/app/staticfiles \
    sh -c 'python manage.py collectstatic --noinput && python manage.py compilemessages --ignore=.venv' \
 && useradd --system --uid 10001 --no-create-home app

USER app
ENV DJANGO_DEBUG=false STATIC_ROOT=/app/staticfiles PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn authsite.wsgi --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-2} --access-logfile - --forwarded-allow-ips='*'"]
