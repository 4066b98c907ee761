"""``incidentctl``: run the embedded stack, inject faults, inspect incidents, and the offline tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Final, NoReturn

from incidentctl import chaos as chaos_faults
from incidentctl.exits import NoStack, cli_lang, say

DEFAULT_DIR = Path(".stack")


def _stack_state(args: argparse.Namespace) -> Any:
    """The running stack under ``--dir``; NoStack (exit 5) when none runs or its processes are gone."""
    from incidentctl.stack import StackState

    return StackState.load_running(Path(args.dir))


def _api(args: argparse.Namespace) -> tuple[str, str]:
    """Return the API base URL and token from flags, env, or the running stack."""
    url, token = args.api or os.environ.get("IR_API_URL"), os.environ.get("IR_API_TOKEN", "")
    if url is None or not token:
        state = _stack_state(args)
        url, token = url or state.api_url, token or state.api_token
    args.api_url = url.rstrip("/")  # named in the error line if it does not answer
    return url.rstrip("/"), token


def cmd_up(args: argparse.Namespace) -> int:
    """Run ``incidentctl up``."""
    from incidentctl import stack
    from incidentctl.live import show_live, token_hint
    from incidentctl.stack import StackState

    root = Path(args.dir)
    try:
        running = StackState.load(root)
    except NoStack:
        running = None
    if running is not None and running.running():
        print(say("up_running", root=root, url=running.api_url))
        return 0
    if running is not None:
        print(say("up_stale", root=root))
        stack.forget(running)
    state = stack.start(root, estate=not args.no_estate)
    print(say("up_console", url=state.api_url, hint=token_hint(state)))
    print(say("up_demo", url=state.demo_url))
    if args.detach:
        print(say("up_detached"))
        return 0
    try:
        show_live(state)
    except KeyboardInterrupt:
        print("\n" + say("up_stopping"))
    finally:
        stack.stop(state)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Run ``incidentctl down``."""
    from incidentctl import stack
    from incidentctl.stack import StackState

    root = Path(args.dir)
    try:
        state = StackState.load(root)
    except NoStack:
        print(say("down_none", root=root))
        return 0
    if not state.running():
        stack.stop(state, log=lambda _: None)  # what is left of it (a demo service still running), then the state
        print(say("down_stale", root=root))
        return 0
    started = time.monotonic()
    stack.stop(state, log=lambda _: None)
    print(say("down_done", root=root, seconds=time.monotonic() - started))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Run ``incidentctl status``; exit 0 only if every process is up and every service ready."""
    from incidentctl import status_cmd

    rows = status_cmd.gather(_stack_state(args))
    print(json.dumps(rows, indent=2) if args.json else status_cmd.format_table(rows, lang=cli_lang()))
    return 0 if status_cmd.healthy(rows) else 1


def cmd_chaos(args: argparse.Namespace) -> int:
    """Run ``incidentctl chaos``."""
    from incidentctl.chaos_publish import inject_and_record

    ratio = getattr(args, "ratio", None)
    if ratio is not None and (args.fault != "error-burst" or not 0.0 < ratio <= 1.0):
        raise ValueError(say("err_ratio"))
    duration = getattr(args, "duration_s", None)
    if duration is not None and (duration <= 0 or args.fault in ("crash", "reset", *chaos_faults.ESTATE_FAULTS)):
        raise ValueError(say("err_duration"))
    at = asyncio.run(inject_and_record(_stack_state(args), args.fault, ratio=ratio, duration_s=duration))
    print(say("chaos_injected", fault=args.fault, at=at.isoformat()))
    return 0


def cmd_incidents(args: argparse.Namespace) -> int:
    """Run ``incidentctl incidents``."""
    from incidentctl import api_client

    url, token = _api(args)
    filters = {k: v for k, v in (("status", args.status), ("severity", args.severity)) if v}
    incidents = api_client.list_incidents(url, token=token, **filters)
    print(json.dumps(incidents, indent=2) if args.json else api_client.format_incident_table(incidents))
    return 0


def cmd_incident(args: argparse.Namespace) -> int:
    """Run ``incidentctl incident``."""
    from incidentctl import api_client

    url, token = _api(args)
    incident = api_client.get_incident(url, args.id, token=token)
    print(json.dumps(incident, indent=2) if args.json else api_client.format_timeline(incident))
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    """Run ``incidentctl ack``."""
    from incidentctl import api_client

    url, token = _api(args)
    print(json.dumps(api_client.ack(url, args.id, token=token, actor=args.actor, level=args.level)))
    return 0


def cmd_declare(args: argparse.Namespace) -> int:
    """Run ``incidentctl declare``: open an incident by hand."""
    from incidentctl import api_client

    url, token = _api(args)
    fields = {"impact": args.impact, "target": args.target, "team": args.team, "text": args.text}
    print(
        json.dumps(
            api_client.declare(url, token=token, title=args.title, severity=args.severity, actor=args.actor, **fields)
        )
    )
    return 0


def decision_fields(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Return the API path and body fields of a decision sub-command (ValueError: a usage error)."""
    text = args.reason
    match args.decision:
        case "escalate":
            return "escalate", {"level": args.to, "text": text}
        case "reassign":
            if not args.team and not args.person:
                raise ValueError("reassign to whom? give --team L1|L2|L3 and/or --person NAME")
            return "reassign", {"team": args.team, "person": args.person, "text": text}
        case "severity":
            return "severity", {"severity": None if args.severity == "clear" else args.severity, "text": text}
        case "merge":
            return "merge", {"into": args.into, "text": text}
        case "approve" | "deny":
            return args.decision, {"text": text}
        case _:
            return "split", {"anomaly_ids": list(args.anomaly_ids), "title": args.title, "text": text}


def cmd_decision(args: argparse.Namespace) -> int:
    """Run ``incidentctl escalate|reassign|severity|merge|split|approve|deny``."""
    from incidentctl import api_client

    path, fields = decision_fields(args)
    url, token = _api(args)
    print(json.dumps(api_client.decide(url, args.id, path, token=token, actor=args.actor, **fields)))
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    """Run ``incidentctl resolve``."""
    from incidentctl import api_client

    url, token = _api(args)
    print(json.dumps(api_client.resolve(url, args.id, token=token, actor=args.actor)))
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    """Run ``incidentctl note``."""
    from incidentctl import api_client

    url, token = _api(args)
    print(json.dumps(api_client.add_note(url, args.id, args.text, token=token, actor=args.actor)))
    return 0


def cmd_silence(args: argparse.Namespace) -> int:
    """Run ``incidentctl silence``."""
    from incidentctl import api_client

    url, token = _api(args)
    if args.silence_cmd == "list":
        print(json.dumps(api_client.list_silences(url, token=token), indent=2))
    elif args.silence_cmd == "expire":
        print(json.dumps(api_client.expire_silence(url, args.id, token=token)))
    else:
        matchers = dict(pair.split("=", 1) for pair in args.match)
        created = api_client.create_silence(
            url, token=token, matchers=matchers, duration_s=args.duration, author=args.author, reason=args.reason
        )
        print(json.dumps(created))
    return 0


def cmd_oncall(args: argparse.Namespace) -> int:
    """Run ``incidentctl oncall``."""
    from incidentctl import api_client

    url, token = _api(args)
    body = api_client.oncall(url, args.team, token=token)
    print(json.dumps(body, indent=2) if args.json else api_client.format_oncall(body))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run ``incidentctl schedule``."""
    from incidentctl import api_client

    url, token = _api(args)
    if args.schedule_cmd == "show":
        print(json.dumps(api_client.get_schedule(url, args.name, token=token), indent=2))
    else:
        sys.stdout.buffer.write(api_client.schedule_ics(url, args.name, days=args.days, token=token))
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    """Run ``incidentctl scenario``."""
    from incidentctl import scenario

    # Always a fresh stack: state left by an earlier run (open incidents, learned baselines) would blur the result.
    root = Path(args.dir) / "scenarios" / f"{args.fault}-{time.strftime('%Y%m%d-%H%M%S')}"
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    result = scenario.run(args.fault, root=root, timeout_s=args.timeout, log=log)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(scenario.format_result(result.to_json()))
    return 0 if result.ok else 1


def cmd_detect(args: argparse.Namespace) -> int:
    """Run ``incidentctl detect``."""
    from incidentctl.detect_cmd import detect_csv

    rows = detect_csv(Path(args.input), Path(args.output))
    print(say("detect_scored", rows=rows, output=args.output), file=sys.stderr)
    return 0


def cmd_logs_parse(args: argparse.Namespace) -> int:
    """Run ``incidentctl logs parse``."""
    from incidentctl.logs_cmd import parse_file

    parse_file(Path(args.input), sys.stdout)
    return 0


def cmd_rca_rank(args: argparse.Namespace) -> int:
    """Run ``incidentctl rca rank``."""
    from incidentctl.rca_cmd import rank_case_dir

    ranking = rank_case_dir(Path(args.input))
    if args.json:
        print(json.dumps(ranking))
    else:
        for i, item in enumerate(ranking["ranking"][: args.top], 1):
            print(f"{i:>2}. {item['entity']}  score={item['score']:.3g}\n    {item['evidence']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Run ``incidentctl report``."""
    from incidentctl.report_cmd import write_report

    state = _stack_state(args)
    out_dir = Path(args.out) if args.out else state.path / "reports"
    path = write_report(state.settings(), args.id, fmt=args.format, lang=args.lang, out_dir=out_dir)
    print(path)
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    """Run ``incidentctl topics``."""
    from shared.topics import markdown_table

    print(markdown_table(words={k: say(f"topics_{k}") for k in ("head", "binary", "compacted")}))
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    """Run ``incidentctl asyncapi``: print or write the AsyncAPI 3.0 document of the topics."""
    from shared.asyncapi import render

    text = render()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValueError(say("err_no_folder", folder=out.parent, name=out.name))
    out.write_text(text, encoding="utf-8")
    print(say("asyncapi_wrote", path=out))
    return 0


def cmd_create_topics(args: argparse.Namespace) -> int:
    """Run ``incidentctl create topics``."""
    from shared.settings import ServiceSettings
    from shared.topic_admin import ensure_topics

    created = asyncio.run(ensure_topics(ServiceSettings.load()))
    print(say("topics_created", count=len(created), names=", ".join(created) or say("topics_all_existed")))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Run ``incidentctl replay``: dump events in time order, or re-drive a window ``--into`` a prefix."""
    from datetime import UTC, datetime

    from incidentctl.replay_cmd import Window, dump_events, resolve_topics

    window = Window.parse(args.start, args.end, now=datetime.now(UTC))  # usage errors before any connection
    if args.into is None:
        from shared.settings import ServiceSettings

        names = resolve_topics(args.topics, ServiceSettings.load().topic_prefix)
        settings = _broker_settings(args)
        asyncio.run(dump_events(settings, names, incident=args.incident, window=window, out=sys.stdout))
        return 0
    from incidentctl import whatif

    if not 0 < args.speed <= 1000:
        raise ValueError(say("err_speed", speed=args.speed))
    if args.topics or args.incident:
        raise ValueError(say("err_into_topics"))
    settings = _broker_settings(args)
    whatif.check_prefix(args.into, settings.topic_prefix)
    config_dir = Path(args.config) if args.config else _default_config_dir(args)
    if config_dir is not None and not config_dir.is_dir():
        raise ValueError(say("err_config_dir", folder=config_dir))
    whatif.quiet_service_logs()
    out_dir = Path(args.dir) / "replays" / args.into.strip(".")
    result = asyncio.run(
        whatif.run_whatif(settings, into=args.into, window=window, config_dir=config_dir, out_dir=out_dir,
                          speed=args.speed)
    )  # fmt: skip
    from incidentctl.whatif_diff import format_diff

    print(whatif.describe(result, into=args.into, window=window, config_dir=config_dir))
    print(format_diff(result.rows))
    return 0


def _default_config_dir(args: argparse.Namespace) -> Path | None:
    """The stack's own configuration (what the original run used), if there is one."""
    folder = Path(args.dir) / "config"
    return folder if (folder / "detector.yaml").exists() else None


def _broker_settings(args: argparse.Namespace) -> Any:
    """Broker settings from ``--bootstrap``, else ``KAFKA_BOOTSTRAP_SERVERS`` (and the env), else the stack."""
    from shared.settings import ServiceSettings

    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    extra: dict[str, str] = {}
    if not bootstrap:  # the running stack's broker, and its Elasticsearch (the logs a what-if re-reads)
        state = _stack_state(args)
        bootstrap = state.kafka
        if not os.environ.get("ELASTICSEARCH_URL"):
            extra["elasticsearch_url"] = state.elasticsearch
    args.bootstrap_used = bootstrap  # named in the error line if it does not answer
    return ServiceSettings.load(kafka_bootstrap_servers=bootstrap, **extra)


def cmd_actions(args: argparse.Namespace) -> int:
    """Run ``incidentctl actions``."""
    from incidentctl import actions_cmd

    settings = _broker_settings(args)
    if args.done:
        event = asyncio.run(actions_cmd.mark_done(settings, args.done, actor=args.by))
        print(say("act_done", action=event.data.action_id, actor=event.data.actor))
        return 0
    chosen = actions_cmd.pick(asyncio.run(actions_cmd.read_actions(settings)), incident=args.incident, state=args.state)
    print(actions_cmd.as_json(chosen) if args.json else actions_cmd.format_table(chosen, lang=args.lang or cli_lang()))
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """Run ``incidentctl dlq list|show|redrive``."""
    from incidentctl import dlq_cmd

    settings = _broker_settings(args)
    if args.dlq_cmd == "list":
        letters = asyncio.run(dlq_cmd.read_dead_letters(settings, dlq_cmd.dead_letter_topics(args.topics)))
        print(dlq_cmd.as_json(letters) if args.json else dlq_cmd.format_list(letters))
        return 0
    (topic,) = dlq_cmd.dead_letter_topics([args.topic])
    found = asyncio.run(dlq_cmd.read_dead_letters(settings, [topic]))[topic.name]
    if args.dlq_cmd == "show":
        (letter,) = dlq_cmd.pick(found, [args.offset])
        print(dlq_cmd.format_one(letter))
        return 0
    chosen = dlq_cmd.pick(found, args.offset or [])
    for line in asyncio.run(dlq_cmd.redrive(settings, topic, chosen)):
        print(say("dlq_redriven_one", line=line))
    print(say("dlq_redriven", count=len(chosen), topic=topic.name))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2, as every usage error), not the usage block."""

    def error(self, message: str) -> NoReturn:
        from shared.text import clean_line

        self.exit(2, f"incidentctl: {say('bad_argument', message=clean_line(message, limit=300), prog=self.prog)}\n")


WINDOW_FLAGS: Final = ("--from", "--to")


def _join_relative_times(argv: list[str]) -> list[str]:
    """``--from -30m`` as ``--from=-30m``: argparse would take ``-30m`` for an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in WINDOW_FLAGS and arg.startswith("-") and arg[1:2].isdigit():
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def build_parser() -> argparse.ArgumentParser:
    """Declare every sub-command."""
    p = _Parser(prog="incidentctl", description=__doc__)
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="stack folder (default .stack)")
    p.add_argument("--api", help="responder API URL (default: the running stack's)")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the embedded stack and show live incidents until Ctrl-C")
    up.add_argument("--detach", action="store_true", help="leave it running in the background")
    up.add_argument(
        "--no-estate",
        action="store_true",
        help="without the demo estate (PostgreSQL primary/standby, HAProxy, backups)",
    )
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop a stack left in the background").set_defaults(func=cmd_down)
    st = sub.add_parser(
        "status", help="each process: pid, state, restarts, consumer lag, last event (exit 1 if unwell)"
    )
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    chaos = sub.add_parser("chaos", help="inject a fault into the demo service or its estate")
    chaos.add_argument("fault", choices=[*chaos_faults.FAULTS, *chaos_faults.ESTATE_FAULTS])
    chaos.add_argument("--ratio", type=float, help="error-burst: the share of requests that fail (default 1)")
    chaos.add_argument("--duration-s", type=float, help="how long the fault lasts (default: until reset)")
    chaos.set_defaults(func=cmd_chaos)

    inc = sub.add_parser("incidents", help="list incidents")
    inc.add_argument("--status")
    inc.add_argument("--severity")
    inc.add_argument("--json", action="store_true")
    inc.set_defaults(func=cmd_incidents)
    one = sub.add_parser("incident", help="one incident's timeline")
    one.add_argument("id")
    one.add_argument("--json", action="store_true")
    one.set_defaults(func=cmd_incident)
    for name, func in (("ack", cmd_ack), ("resolve", cmd_resolve)):
        c = sub.add_parser(name, help=f"{name} an incident")
        c.add_argument("id")
        c.add_argument("--actor", default=os.environ.get("USER", "operator"))
        if name == "ack":
            c.add_argument("--level", choices=TEAMS, help="the level acknowledging (default: the highest paged)")
        c.set_defaults(func=func)
    _decision_parsers(sub)
    note = sub.add_parser("note", help="add a note to an incident")
    note.add_argument("id")
    note.add_argument("text")
    note.add_argument("--actor", default=os.environ.get("USER", "operator"))
    note.set_defaults(func=cmd_note)

    sil = sub.add_parser("silence", help="create, list or expire silences")
    sil_sub = sil.add_subparsers(dest="silence_cmd", required=True)
    create = sil_sub.add_parser("create")
    create.add_argument("--match", action="append", required=True, metavar="LABEL=VALUE")
    create.add_argument("--duration", type=float, default=3600.0, help="seconds")
    create.add_argument("--author", default=os.environ.get("USER", "operator"))
    create.add_argument("--reason", required=True)
    sil_sub.add_parser("list")
    expire = sil_sub.add_parser("expire")
    expire.add_argument("id")
    sil.set_defaults(func=cmd_silence)

    onc = sub.add_parser("oncall", help="who is on call for a team now, and the next hand-off")
    onc.add_argument("team", choices=["L1", "L2", "L3"])
    onc.add_argument("--json", action="store_true")
    onc.set_defaults(func=cmd_oncall)
    sch = sub.add_parser("schedule", help="show an on-call schedule or export it as iCalendar")
    sch_sub = sch.add_subparsers(dest="schedule_cmd", required=True)
    sch_sub.add_parser("show").add_argument("name")
    ics = sch_sub.add_parser("ics")
    ics.add_argument("name")
    ics.add_argument("--days", type=int, default=28)
    sch.set_defaults(func=cmd_schedule)

    scen = sub.add_parser("scenario", help="run a fault scenario headless")
    scen_sub = scen.add_subparsers(dest="scenario_cmd", required=True)
    run = scen_sub.add_parser("run")
    run.add_argument("fault", choices=chaos_faults.SCENARIO_FAULTS)
    run.add_argument("--json", action="store_true")
    run.add_argument("--timeout", type=float, default=170.0, help="seconds to wait for the chain after the fault")
    run.set_defaults(func=cmd_scenario)

    det = sub.add_parser("detect", help="score a timestamp,value CSV (NAB format) as a stream")
    det.add_argument("--input", required=True)
    det.add_argument("--output", required=True)
    det.set_defaults(func=cmd_detect)

    logs = sub.add_parser("logs", help="log tools")
    logs_sub = logs.add_subparsers(dest="logs_cmd", required=True)
    parse = logs_sub.add_parser("parse", help="print template_id<TAB>template per input line")
    parse.add_argument("--input", required=True)
    parse.set_defaults(func=cmd_logs_parse)

    rca = sub.add_parser("rca", help="root-cause analysis tools")
    rca_sub = rca.add_subparsers(dest="rca_cmd", required=True)
    rank = rca_sub.add_parser("rank", help="rank root causes of a case folder")
    rank.add_argument("--input", required=True)
    rank.add_argument("--json", action="store_true")
    rank.add_argument("--top", type=int, default=5)
    rank.set_defaults(func=cmd_rca_rank)

    rep = sub.add_parser("report", help="write an incident report")
    rep.add_argument("id")
    rep.add_argument("--format", choices=["md", "html"], default="md")
    rep.add_argument("--lang", choices=["en", "ko"], default="en")
    rep.add_argument("--out", help="folder (default: the stack's reports/, e.g. .stack/reports); writes ID-LANG.FORMAT")
    rep.set_defaults(func=cmd_report)

    sub.add_parser("topics", help="print the topic table (the public event interface)").set_defaults(func=cmd_topics)
    aa = sub.add_parser("asyncapi", help="print the AsyncAPI 3.0 document of every topic (or write it with --out)")
    aa.add_argument("--out", "-o", help="file to write, e.g. docs/asyncapi.json (default: standard output)")
    aa.set_defaults(func=cmd_asyncapi)
    sub.add_parser(
        "create-topics", help="create every topic on KAFKA_BOOTSTRAP_SERVERS (deployments run this once)"
    ).set_defaults(func=cmd_create_topics)
    rp = sub.add_parser(
        "replay",
        help="postmortem: events of every topic in time order (--from/--to), or a what-if re-run --into a prefix",
    )
    rp.add_argument("topics", nargs="*", help="topic names (default: all); an unknown one is an error (exit 2)")
    rp.add_argument("--incident", help="only events of this incident (correlation id)")
    rp.add_argument("--from", dest="start", help="window start: ISO time (2026-05-01T14:03:00Z) or relative (-30m)")
    rp.add_argument("--to", dest="end", help="window end (exclusive): ISO time or relative (-5m); default: open")
    rp.add_argument(
        "--into", metavar="PREFIX",
        help="re-drive the window's recorded metrics and logs through detector, responder and rca under topics and "
        "consumer groups prefixed PREFIX, then print what changed against the original incidents",
    )  # fmt: skip
    rp.add_argument("--config", help="with --into: a folder of detector.yaml, responder.yaml, rca.yaml "
                    "(default: the stack's config/), e.g. with a changed CPU threshold")  # fmt: skip
    rp.add_argument("--speed", type=float, default=10.0, help="with --into: virtual seconds per wall second")
    rp.add_argument("--bootstrap", help="Kafka bootstrap servers (default: env or the running stack)")
    rp.set_defaults(func=cmd_replay)

    act = sub.add_parser("actions", help="follow-up actions of improvement plans: owner, due date, state")
    act.add_argument("--incident", help="only this incident's actions")
    act.add_argument("--state", choices=["open", "done", "all"], default="open")
    act.add_argument("--lang", choices=["en", "ko"], help="language of the table (default: IR_LANG, else en)")
    act.add_argument("--json", action="store_true")
    act.add_argument("--done", metavar="ACTION_ID", help="record that this action is done")
    act.add_argument("--by", default=os.environ.get("USER", "operator"), help="who closed it (with --done)")
    act.add_argument("--bootstrap", help="Kafka bootstrap servers (default: env or the running stack)")
    act.set_defaults(func=cmd_actions)

    dlq = sub.add_parser("dlq", help="inspect dead letters and re-drive them after a fix")
    dlq.add_argument("--bootstrap", help="Kafka bootstrap servers (default: env or the running stack)")
    dlq_sub = dlq.add_subparsers(dest="dlq_cmd", required=True)
    dl = dlq_sub.add_parser("list", help="dead letters per topic with their reasons")
    dl.add_argument("topics", nargs="*", help="topic names (default: every topic with a dead-letter topic)")
    dl.add_argument("--json", action="store_true")
    ds = dlq_sub.add_parser("show", help="one dead letter: headers and an escaped payload preview")
    ds.add_argument("topic", help="the original topic (or its .dlq name)")
    ds.add_argument("offset", type=int, help="offset on the dead-letter topic")
    dr = dlq_sub.add_parser(
        "redrive",
        help="re-publish dead letters' original bytes to their original topic; idempotent: event ids are "
        "derived from content and consumers drop ids already processed, so re-driving twice changes nothing",
    )
    dr.add_argument("topic", help="the original topic (or its .dlq name)")
    dr.add_argument("--offset", type=int, action="append", help="only this dead-letter offset (repeatable)")
    dlq.set_defaults(func=cmd_dlq)
    return p


TEAMS: Final = ("L1", "L2", "L3")
SEVERITIES: Final = ("critical", "major", "minor")


def _decision_parsers(sub: Any) -> None:
    """Declare ``declare`` and the decisions on an incident (each records who and why)."""
    actor = os.environ.get("USER", "operator")
    dec = sub.add_parser("declare", help="declare an incident by hand (a security incident, a data leak)")
    dec.add_argument("title")
    dec.add_argument("--severity", required=True, choices=SEVERITIES)
    dec.add_argument("--impact", help="e.g. security, data_loss, service_down")
    dec.add_argument("--target", default="", help="the service affected")
    dec.add_argument("--team", choices=TEAMS, help="the team it is assigned to")
    dec.add_argument("--text", default="", help="what is known so far")
    dec.add_argument("--actor", default=actor)
    dec.set_defaults(func=cmd_declare)
    helps = {
        "escalate": "escalate to the next level now (it is paged and its clock starts)",
        "reassign": "reassign to a team (paged now) and/or a person",
        "severity": "override the severity with a reason ('clear' gives it back to the rules)",
        "merge": "merge an incident into another: it resolves as merged, its anomalies move",
        "split": "move anomalies of an incident to a new incident",
        "approve": "approve the recovery step that awaits approval (recovery runs it once)",
        "deny": "deny the recovery step that awaits approval (the recovery fails, the incident escalates)",
    }
    for name, text in helps.items():
        c = sub.add_parser(name, help=text)
        c.add_argument("id")
        if name == "escalate":
            c.add_argument("--to", choices=TEAMS, help="the level to escalate to (default: the next)")
        elif name == "reassign":
            c.add_argument("--team", choices=TEAMS)
            c.add_argument("--person", default="")
        elif name == "severity":
            c.add_argument("severity", choices=(*SEVERITIES, "clear"))
        elif name == "merge":
            c.add_argument("--into", required=True, help="the incident that absorbs this one")
        elif name == "split":
            c.add_argument("anomaly_ids", nargs="+", metavar="anomaly_id")
            c.add_argument("--title", default="")
        c.add_argument("--reason", required=name in ("severity", "deny"), default="", help="why (kept on the timeline)")
        c.add_argument("--actor", default=actor)
        c.set_defaults(func=cmd_decision, decision=name)


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _quiet_client_logs() -> None:
    """Client libraries log connection failures themselves; the CLI says it once, in one line."""
    logging.basicConfig(level=logging.WARNING, format="incidentctl: %(name)s: %(message)s")
    for name in ("aiokafka", "kafka", "elastic_transport", "httpx", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``incidentctl`` command; the exit codes are ``incidentctl.exits.Exit``."""
    from incidentctl.exits import Exit, explain

    args = build_parser().parse_args(_join_relative_times(sys.argv[1:] if argv is None else argv))
    _quiet_client_logs()
    # SIGTERM (a supervisor, `timeout`, `kill`) unwinds like Ctrl-C, so `up` and `scenario run`
    # stop the processes they started instead of leaving them behind.
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)
    except BrokenPipeError:  # piped into `head` and the like: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(Exit.OK)
    except Exception as exc:  # every failure: one line with what to do next, a documented code, no traceback
        code, line = explain(
            exc, api_url=getattr(args, "api_url", ""), bootstrap=getattr(args, "bootstrap_used", ""), lang=cli_lang()
        )
        print(f"incidentctl: {line}", file=sys.stderr)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
