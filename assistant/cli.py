"""The ``assistant`` command: ingest, ask, chat, serve, eval, bench, feedback.

Errors from the assistant are printed as one friendly line on stderr and mapped
to exit codes: 2 bad question, 3 store unavailable (also: disk full, read-only
data folder, damaged records, another process indexing), 4 unreadable document,
5 LLM backend failure, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import AssistantError
from .settings import Settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment settings, overridden by whichever flags were given.

    Flags default to ``argparse.SUPPRESS``, so only flags the user typed are in
    ``args``; each flag is named after its ``Settings`` field.
    """
    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields}
    return Settings(**given)


# -- commands
def cmd_ingest(args: argparse.Namespace) -> int:
    from .core import Assistant

    settings = settings_from_args(args)
    if args.rebuild:
        if args.paths:
            raise AssistantError("--rebuild re-indexes every known source; it takes no paths.",
                                 "Run `assistant ingest --rebuild`, then `assistant ingest PATHS` if needed.")
        from ingest import set_aside_unopenable_store, writer_lock

        with writer_lock(settings.ingest_lock):
            set_aside_unopenable_store(settings)  # logs where a damaged store went
            bot = Assistant(settings, auto_ingest=False)
            report = bot.ingestor.rebuild(progress=not args.quiet)
    else:
        bot = Assistant(settings, auto_ingest=False)
        report = bot.ingest([Path(p) for p in args.paths] or None, progress=not args.quiet)
    for name, reason in report.errors:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return 0 if not report.errors or report.files > len(report.errors) else 4


def _print_answer(ans, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ans.to_dict(), indent=2, ensure_ascii=False))
        return
    print(ans.text)
    if ans.notice:
        print(f"\n({ans.notice})")
    if ans.citations:
        print()
        for c in ans.citations:
            page = f", p. {c.page}" if c.page else ""
            print(f"[{c.n}] {c.source}{page} — {c.path} @ {c.start}-{c.end} (passage {c.passage_id})")


def cmd_ask(args: argparse.Namespace) -> int:
    from .core import Assistant

    settings = settings_from_args(args)
    # validate before loading the model: a bad question should fail fast
    Assistant.validate_question(args.question, settings.max_question_chars)
    bot = Assistant(settings)
    _print_answer(bot.ask(args.question, sources=args.source or None), args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .core import Assistant

    bot = Assistant(settings_from_args(args))
    history: list[dict] = []
    print("Ask about Japan's response to Russia's invasion of Ukraine. Commands: /new (forget the conversation), /quit.")
    while True:
        try:
            question = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.strip() in ("/quit", "/exit"):
            return 0
        if question.strip() == "/new":
            history.clear()
            print("(new conversation)")
            continue
        try:
            ans = bot.ask(question, history=history)
        except AssistantError as exc:
            print(f"error: {exc}")
            continue
        print()
        _print_answer(ans, False)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": ans.text}]


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.app import serve

    return serve(settings_from_args(args), share=args.share)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from .web.conversations import ConversationStore, export_feedback

    settings = settings_from_args(args)
    db = settings.data_dir / "conversations.sqlite"
    if not db.exists():
        raise AssistantError(f"No feedback yet: {db} does not exist.", "Rate answers in the web chat first.")
    out = args.out or settings.data_dir / "feedback.jsonl"
    written, review = export_feedback(ConversationStore(db), out)
    if not written:
        raise AssistantError("No feedback yet: nobody has rated an answer.", "Rate answers in the web chat first.")
    print(f"Wrote {written} feedback case{'s' if written != 1 else ''} to {out}.")
    if review:
        print(f"{review} thumbs-down case{'s' if review != 1 else ''} marked needs_review: replace the placeholder "
              'in "answers" with the expected answer, or set "unanswerable": true.')
    print(f"Score them with: assistant eval --dataset {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    # the evals package imports the assistant, never the other way round: dispatched lazily
    from evals.run import run_eval

    settings = settings_from_args(args)
    if args.compare and len(args.compare) == 2:  # two finished runs: compare only
        from evals.suite import compare

        print(compare(Path(args.compare[0]), Path(args.compare[1])))
        return 0
    if args.all:
        from evals.suite import DEFAULT_SUITE_OUT, compare, format_suite, load_sets_check, run_suite

        load_sets_check()
        out = args.out or DEFAULT_SUITE_OUT
        result = run_suite(settings, out, only=args.only, progress=not args.quiet)
        print(format_suite(result))
        print(f"\nwritten to {out}")
        if args.compare:
            print("\n" + compare(Path(args.compare[0]), out))
        return 0
    if "knowledge_dir" in vars(args) and "data_dir" not in vars(args):
        # another corpus gets its own store, so the default one is never mixed with it
        folder = Path(args.knowledge_dir).resolve()
        name = folder.parent.name if folder.name == "knowledge" else folder.name
        settings = settings.model_copy(update={"data_dir": settings.data_dir / "eval-stores" / name})
    code = run_eval(settings, dataset=args.dataset, out=args.out, limit=args.limit, check=args.check,
                    progress=not args.quiet)
    if args.compare:
        from evals.run import DEFAULT_OUT
        from evals.suite import compare

        print("\n" + compare(Path(args.compare[0]), args.out or DEFAULT_OUT))
    return code


def cmd_bench(args: argparse.Namespace) -> int:
    from evals.bench import run_bench

    given = {k: getattr(args, k) for k in ("out", "queries", "backend", "salad", "ontopic") if getattr(args, k) is not None}
    if args.sizes is not None:
        given["sizes"] = [int(s) for s in args.sizes.split(",") if s.strip()]
    return run_bench(full=args.full, baseline=not args.no_baseline, **given)


def build_parser() -> argparse.ArgumentParser:
    # Global flags work before or after the subcommand; SUPPRESS keeps a subcommand's
    # unset copy from overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--data-dir", type=Path, help="store and records folder (ASSISTANT_DATA_DIR)")
    common.add_argument("--knowledge-dir", "--knowledge", type=Path, help="documents folder (ASSISTANT_KNOWLEDGE_DIR)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (ASSISTANT_CHROMA_URL)")
    common.add_argument("--llm", help="ollama:MODEL | openai:MODEL | llamacpp:/path.gguf | smollm2 (ASSISTANT_LLM)")
    common.add_argument("--llm-base-url", help="OpenAI-compatible server URL (else OPENAI_BASE_URL)")
    common.add_argument("--llm-timeout", type=float, help="seconds before falling back to the extractive answer")

    parser = argparse.ArgumentParser(prog="assistant", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="index documents (default: the knowledge folder)")
    p.add_argument("paths", nargs="*", help="files or folders; default: the knowledge folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--rebuild", action="store_true",
                   help="wipe the store and its records and index every known source again "
                        "(a store that cannot be opened is set aside, not deleted)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", parents=[common], help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
    p.add_argument("--source", action="append", metavar="NAME",
                   help="answer only from this document (file name or title, as the Documents tab lists it); "
                        "repeat for several")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common], help="multi-turn chat in the terminal")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", parents=[common], help="open the web chat")
    p.add_argument("--host", default=argparse.SUPPRESS, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=argparse.SUPPRESS, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public link (off by default)")
    p.add_argument("--auth", default=argparse.SUPPRESS, help="user:password required to open the chat (or ASSISTANT_AUTH)")
    p.add_argument("--max-upload-mb", type=float, default=argparse.SUPPRESS,
                   help="largest document the page accepts (default 10)")
    p.add_argument("--concurrency", type=int, default=argparse.SUPPRESS,
                   help="questions answered at the same time (default 8)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[common], help="score answers on an eval set and write a report")
    p.add_argument("--dataset", type=Path, default=None, help="JSONL eval set (default: the project's)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: evals/out)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N cases")
    p.add_argument("--check", action="store_true", help="exit 1 when a metric misses evals/thresholds.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--all", action="store_true",
                   help="every eval set (the article's and each corpus's splits, each on its own store), "
                        "pooled holdouts included (default out: evals/out/suite)")
    p.add_argument("--only", nargs="+", default=None, metavar="PART",
                   help="with --all: only the sets whose path contains one of these")
    p.add_argument("--compare", nargs="+", default=None, metavar="RUN_DIR",
                   help="list the cases that flipped against an earlier run's folder, with each metric's change "
                        "and its 95%% bootstrap interval; two folders: compare them without running")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("feedback", parents=[common], help="what web chat users rated")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    f = fsub.add_parser("export", parents=[common], help="write every rating as a JSONL eval set")
    f.add_argument("--out", type=Path, default=None, help="JSONL file (default: DATA_DIR/feedback.jsonl)")
    f.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("bench", parents=[common], help="speed and memory benchmarks")
    p.add_argument("--sizes", default=None, help="generated corpus sizes in passages (default 1000,10000)")
    p.add_argument("--full", action="store_true", help="also run 100000 passages (about an hour or more)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: evals/out/bench)")
    p.add_argument("--queries", type=int, default=None, help="timed questions per size (default 40)")
    p.add_argument("--backend", default=None, help="embedding backend: onnx (default) | onnx-int8 | torch")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain LangChain recipe")
    p.add_argument("--salad", type=float, default=None,
                   help="share of generated sentences that are Markov recombinations of the article "
                        "(a stress test beyond any real folder, e.g. 0.3; default none)")
    p.add_argument("--ontopic", type=float, default=None,
                   help="share of templated sentences naming Japan, Russia or Ukraine (default a quarter)")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
