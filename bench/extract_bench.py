"""How fast hostile-file-safe extraction turns ~1M tokens of upload into text.

    .venv/bin/python bench/extract_bench.py [--runs 3] [--dir /tmp/m1-extract-bench]

Builds three corpora of about 1M MiniMax-M1 tokens each (~4.4 English characters a token, so
~4.4 MB of text): a plain-text file, a 400-page PDF (~11k characters a page) and a repository
ZIP of ~2,000 source files with binaries, .git and node_modules to skip. Each is read with
``extract_isolated``, the path uploads take, and timed end to end: child start, extraction,
result back. Peak memory is the child's own maximum RSS, which it reports with its result.
Targets: each corpus under 10 s and under 1 GB. The corpora are cached in --dir.

For the PDF it also times pypdf in this process, the alternative to PDFium, so the choice of
reader stays measured. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.documents.extract import Limits  # noqa: E402
from playground.documents.isolated import extract_isolated  # noqa: E402
from playground.llm.tokens import count_tokens  # noqa: E402

CHARS_PER_TOKEN = 4.4
TARGET_CHARS = 4_400_000
PDF_PAGES = 400
PDF_LINES_PER_PAGE = 80
PDF_LINE_CHARS = 138  # 80 x 138 = ~11k characters a page
REPO_FILES = 2_000
TARGET_SECONDS = 10.0
TARGET_BYTES = 1024**3

PROSE = (
    "the model reads long documents and answers questions about them with care while the "
    "context window holds a million tokens of reports code tables and notes so every page "
    "counts toward the budget of the request and the cost of each answer depends on it"
)
WORDS = PROSE.split(" ")


def sentences(rng: random.Random, chars: int) -> str:
    parts, size = [], 0
    while size < chars:
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
        sentence = " ".join(words).capitalize() + ". "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:chars]


def build_text(directory: Path) -> Path:
    path = directory / "corpus.txt"
    if not path.exists():
        rng = random.Random(1)
        paragraphs = [sentences(rng, rng.randint(300, 900)) for _ in range(8_000)]
        text = "\n\n".join(paragraphs)[:TARGET_CHARS]
        path.write_text(text, encoding="utf-8")
    return path


def build_pdf(directory: Path) -> Path:
    path = directory / "corpus.pdf"
    if path.exists():
        return path
    from fpdf import FPDF

    rng = random.Random(2)
    document = FPDF()
    document.set_font("Helvetica", size=7)
    document.set_auto_page_break(False)
    for _ in range(PDF_PAGES):
        document.add_page()
        for line in range(PDF_LINES_PER_PAGE):
            document.text(6, 5 + line * 3.6, sentences(rng, PDF_LINE_CHARS))
    document.output(str(path))
    return path


def build_repository(directory: Path) -> Path:
    path = directory / "corpus-repo.zip"
    if path.exists():
        return path
    rng = random.Random(3)
    per_file = TARGET_CHARS // REPO_FILES
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(REPO_FILES):
            package = f"project/src/pkg{number % 40:02}/sub{number % 7}"
            kind = number % 3
            body = sentences(rng, per_file - 60)
            if kind == 0:
                name, text = f"{package}/module{number}.py", f'"""{body}"""\n\nX = {number}\n'
            elif kind == 1:
                name, text = f"{package}/notes{number}.md", f"# Notes {number}\n\n{body}\n"
            else:
                name, text = (
                    f"{package}/widget{number}.js",
                    f"// {body}\nexport default {number};\n",
                )
            archive.writestr(name, text)
        for number in range(100):  # binaries, a .git and node_modules to skip
            archive.writestr(f"project/assets/img{number}.png", rng.randbytes(4096))
            archive.writestr(f"project/.git/objects/{number:02x}/obj", rng.randbytes(2048))
            archive.writestr(f"project/node_modules/dep{number}/index.js", "module.exports = 1;\n")
    return path


class PeakMemory(logging.Handler):
    """Catches the child's peak RSS that extract_isolated logs with each result."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.peak = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.peak = getattr(record, "peak_rss_bytes", self.peak)


def measure(path: Path, name: str, runs: int, peak: PeakMemory) -> dict:
    times, peaks = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = extract_isolated(path, name, Limits())
        tokens, _ = count_tokens(result.text)  # what the app does next with the text
        times.append(time.perf_counter() - started)
        peaks.append(peak.peak)
    return {
        "chars": result.chars,
        "tokens": tokens,
        "detail": {"pdf": f"{result.pages} pages", "archive": f"{result.files} files"}.get(
            result.kind, result.kind
        ),
        "skipped": len(result.skipped),
        "seconds": statistics.median(times),
        "peak": max(peaks),
    }


def pypdf_seconds(path: Path) -> tuple[float, int] | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    started = time.perf_counter()
    chars = sum(len(page.extract_text()) for page in PdfReader(path).pages)
    return time.perf_counter() - started, chars


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "m1-extract-bench"
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    peak = PeakMemory()
    logger = logging.getLogger("playground.documents.isolated")
    logger.addHandler(peak)
    logger.setLevel(logging.INFO)

    started = time.perf_counter()
    corpora = [
        ("plain text", build_text(args.dir), "corpus.txt"),
        ("PDF", build_pdf(args.dir), "corpus.pdf"),
        ("repository ZIP", build_repository(args.dir), "repo.zip"),
    ]
    print(f"corpora ready in {time.perf_counter() - started:.1f} s (cached in {args.dir})\n")

    print(f"extract_isolated + count_tokens, median of {args.runs} runs, 2-core machine\n")
    print("| corpus | on disk | content | chars | ~tokens | wall s | child peak RSS | target |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for label, path, name in corpora:
        row = measure(path, name, args.runs, peak)
        ok = row["seconds"] < TARGET_SECONDS and row["peak"] < TARGET_BYTES
        content = row["detail"] + (f", {row['skipped']} skipped" if row["skipped"] else "")
        print(
            f"| {label} | {path.stat().st_size / 1e6:.1f} MB | {content} | {row['chars']:,} | "
            f"{row['tokens'] / 1e6:.2f} M | {row['seconds']:.2f} | "
            f"{row['peak'] / 2**20:.0f} MB | {'met' if ok else 'MISSED'} |"
        )

    compared = pypdf_seconds(corpora[1][1])
    if compared:
        seconds, chars = compared
        print(f"\npypdf, same PDF, in-process, no isolation: {seconds:.2f} s for {chars:,} chars")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
