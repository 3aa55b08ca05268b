"""Verbs about this machine: lab, services, mail, doctor."""

from __future__ import annotations

import argparse

from course.cli.common import EXIT_OK, CourseError


def cmd_lab(args: argparse.Namespace) -> int:
    from course.setup import lab

    return lab.run(no_browser=args.no_browser, scale=args.scale, port=args.port)


def cmd_services(args: argparse.Namespace) -> int:
    from course import services

    names = list(args.names or ())
    if args.action in ("restart", "logs") and len(names) > 1:
        raise CourseError(f"`services {args.action}` takes one service at a time")
    if args.scale is not None and (args.action != "up" or len(names) != 1 or args.scale < 1):
        raise CourseError("--scale N goes with `services up NAME` (one service, N >= 1)")
    if args.action == "up":
        services.up(names, scale=args.scale, postgres=True if args.postgres else None)
        status = services.status()
    elif args.action == "restart":
        status = services.restart(names[0] if names else services.WORKER)
    elif args.action == "logs":
        name = names[0] if names else services.WORKER
        print(services.log_tail(name, 40) or f"no log for {name} yet")
        return EXIT_OK
    elif args.action == "down":
        services.down(names)
        status = services.status()
    elif args.action == "list":
        from course.services import registry

        for service in registry.all_services().values():
            extra = " (scales: --scale N)" if service.scalable else ""
            print(f"  {service.name:<10} {service.summary}{extra}")
        return EXIT_OK
    else:
        status = services.status()
    print(services.format_status(status))
    return EXIT_OK


def cmd_mail(args: argparse.Namespace) -> int:
    from course.services import mailserver

    if args.normal:
        mailserver.reset_behaviour()
    if args.delay is not None or args.refuse is not None or args.hold is not None:
        mailserver.set_behaviour(delay_seconds=args.delay, refuse_next=args.refuse,
                                 hold_seconds=args.hold)
    if args.clear:
        mailserver.clear()
    behaviour = mailserver.read_behaviour()
    print("mail server: " + (", ".join(f"{k} {v:g}" for k, v in behaviour.items() if v)
                             or "answers at once, accepts everything"))
    found = mailserver.messages()
    repeats = mailserver.repeats(found)
    distinct = f", {len(found) - sum(repeats)} distinct" if any(repeats) else ""
    print(f"{len(found)} message(s){distinct} in {mailserver.mail_dir()}"
          + (":" if found else ""))
    for message, repeat in list(zip(found, repeats, strict=True))[-args.last:]:
        print(f"  {message['Date']}  to {message['To']}  {message['Subject']}  "
              f"{message['Message-ID']}" + ("  (again: a mailbox shows it once)" if repeat else ""))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from course.setup import doctor

    return doctor.run()


def register(verb) -> None:
    lab = verb("lab", cmd_lab, "set everything up and open JupyterLab on the first notebook")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--scale", default="medium", choices=["tiny", "small", "medium", "large"],
                     help="size of the shop's data on first start (default: medium)")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")

    services = verb("services", cmd_services,
                    "start, stop or inspect the course's servers (Redis, SMTP, PostgreSQL, the "
                    "Celery worker, app servers …)")
    services.add_argument("action", choices=["up", "down", "status", "restart", "logs", "list"])
    services.add_argument("names", nargs="*", metavar="name",
                          help="up/down: these services too (remembered until `down NAME`); "
                          "restart/logs: which one (default: worker); `list` names them all")
    services.add_argument("--scale", type=int, metavar="N",
                          help="up NAME: run N instances of it (app servers)")
    services.add_argument("--postgres", action="store_true",
                          help="also start PostgreSQL (same as `up postgres`)")

    mail = verb("mail", cmd_mail, "read the course's mailbox; make its mail server slow or "
                "refuse mail for a while")
    mail.add_argument("--delay", type=float, metavar="S", help="wait S seconds before accepting")
    mail.add_argument("--refuse", type=int, metavar="N", help="refuse the next N messages (451)")
    mail.add_argument("--hold", type=float, metavar="S",
                      help="accept, then keep the sender waiting S seconds for the answer")
    mail.add_argument("--normal", action="store_true", help="answer at once and accept again")
    mail.add_argument("--clear", action="store_true", help="empty the mailbox")
    mail.add_argument("--last", type=int, default=5, help="messages to list (default 5)")

    verb("doctor", cmd_doctor, "check this machine and say exactly what to fix")
