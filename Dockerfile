# The salespulse CLI; `docker run <image> worker` runs the stream worker with /metrics on 6066.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
RUN pip install .

# The worker keeps its local files in the working folder, so run from a folder the user owns.
RUN useradd --create-home --uid 10001 salespulse
USER salespulse
WORKDIR /home/salespulse
# The worker's tables' local copy (`--data-dir`): a volume here, created by the user, keeps it
# across container restarts, so a restart reads only the changelogs' tail.
RUN mkdir /home/salespulse/data

EXPOSE 6066
ENTRYPOINT ["salespulse"]
CMD ["--help"]
