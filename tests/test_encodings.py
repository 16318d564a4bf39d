"""Text in other encodings than UTF-8 (issue 22): read as the right text, or refused by name if it is not text.

Japanese sources come in EUC-JP and Shift-JIS and Windows writes UTF-16; they used
to be read as cp1252 mojibake (or refused as binary), and a binary without NUL bytes
became hundreds of passages of garbage. English in cp1252 / latin-1 reads as before.
"""

from __future__ import annotations

import gzip
import random
import zlib
from pathlib import Path

import pytest

from assistant import Assistant, DocumentError, Settings
from ingest import load_source
from tests._store import all_passages

JAPANESE = ("日本政府は2022年2月24日のロシアによるウクライナ侵攻を受けて、対ロシア制裁を発表した。\n"
            "岸田首相は記者会見で「力による一方的な現状変更は許されない」と述べた。\n"
            "ウクライナからの避難民は約2,000人に上る。\n")
ENGLISH = ("Japan\u2019s response came fast \u2014 within days. The minister said \u201cno\u201d to the caf\u00e9 "
           "owners\u2019 na\u00efve request for \u20ac5 million. Prices rose 2.5% in Q1.\n")


RUSSIAN = "Япония ввела санкции против России после вторжения в Украину. " * 4
SHORT = "日本は制裁を発表した。\n"


@pytest.mark.parametrize(
    ("name", "text", "encoded"),
    [
        ("euc-jp.txt", JAPANESE, JAPANESE.encode("euc_jp")),
        ("shift-jis.md", JAPANESE, JAPANESE.encode("shift_jis")),
        ("cp932.txt", JAPANESE, JAPANESE.encode("cp932")),
        ("utf-16-bom.txt", JAPANESE, JAPANESE.encode("utf-16")),  # little-endian after its BOM, as Notepad writes
        ("utf-16-be-bom.txt", JAPANESE, b"\xfe\xff" + JAPANESE.encode("utf-16-be")),
        ("utf-16-le.txt", JAPANESE, JAPANESE.encode("utf-16-le")),  # no BOM
        ("utf-16-be.txt", JAPANESE, JAPANESE.encode("utf-16-be")),
        ("utf-16-english.txt", ENGLISH, ENGLISH.encode("utf-16-le")),
        ("short-euc-jp.txt", SHORT, SHORT.encode("euc_jp")),
        ("short-shift-jis.txt", SHORT, SHORT.encode("shift_jis")),
        ("russian-cp1251.txt", RUSSIAN, RUSSIAN.encode("cp1251")),
    ],
)
def test_text_in_other_encodings_loads_as_the_right_text(tmp_path: Path, name: str, text: str, encoded: bytes):
    f = tmp_path / name
    f.write_bytes(encoded)
    assert load_source(f, tmp_path).text == text


def test_a_saved_page_in_shift_jis_loads(tmp_path: Path):
    html = ('<html><head><meta charset="shift_jis"><title>対ロシア制裁</title></head><body><h1>対ロシア制裁</h1>'
            f"<p>{JAPANESE}</p></body></html>")
    f = tmp_path / "page.html"
    f.write_bytes(html.encode("shift_jis"))
    doc = load_source(f, tmp_path)
    assert doc.title == "対ロシア制裁" and "ウクライナからの避難民は約2,000人に上る。" in doc.text


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_english_in_a_windows_or_latin_1_encoding_reads_as_before(tmp_path: Path, encoding: str):
    text = ENGLISH if encoding == "cp1252" else "Caf\u00e9 owners in M\u00fcnchen paid \u00a35 for a r\u00e9sum\u00e9.\n"
    for n, body in enumerate((text, text * 20, "It cost \u00a35 million.\n", "Na\u00efve.\n")):
        f = tmp_path / f"note{n}.txt"
        raw = body.encode(encoding)
        f.write_bytes(raw)
        assert load_source(f, tmp_path).text == raw.decode("cp1252")  # the old reading, byte for byte


def _binaries() -> dict[str, bytes]:
    rng = random.Random(22)
    noise = bytes(rng.randrange(256) for _ in range(20_000))
    compressed = zlib.compress(" ".join(str(rng.random()) for _ in range(4000)).encode(), 9)
    return {
        "random.txt": noise,
        "no-nul.txt": noise.replace(b"\x00", b""),  # the crafted one: nothing shows it is binary but its bytes
        "no-nul-high.md": bytes(rng.randrange(128, 256) for _ in range(20_000)),
        "ascii-noise.txt": bytes(rng.randrange(1, 128) for _ in range(20_000)),  # valid UTF-8, and still not text
        "deflate.txt": compressed.replace(b"\x00", b""),
        "archive.html": gzip.compress(b"<html><body>" + b"<p>Japan froze assets.</p>" * 500 + b"</body></html>")
        .replace(b"\x00", b""),
    }


@pytest.mark.parametrize("name", sorted(_binaries()))
def test_bytes_that_are_not_text_are_refused_by_name(tmp_path: Path, name: str):
    f = tmp_path / name
    f.write_bytes(_binaries()[name])
    with pytest.raises(DocumentError) as err:
        load_source(f, tmp_path)
    assert str(err.value).startswith(f"{name}: looks like a binary file, not text")


def test_ingest_reads_japanese_and_skips_a_binary_by_name(tmp_path: Path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "sanctions-euc.txt").write_bytes(JAPANESE.encode("euc_jp"))
    (knowledge / "evacuees-utf16.txt").write_bytes(JAPANESE.encode("utf-16"))
    (knowledge / "garbage.txt").write_bytes(_binaries()["no-nul.txt"])
    bot = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge), embedder=embedder,
                    auto_ingest=False)
    report = bot.ingest(progress=False)
    assert [(Path(f).name, "binary" in reason) for f, reason in report.errors] == [("garbage.txt", True)]
    texts = {p["source"]: p["text"] for p in all_passages(bot)}
    assert set(texts) == {"sanctions-euc.txt", "evacuees-utf16.txt"}
    assert all("ウクライナ" in t for t in texts.values())
