"""Deterministic hostile music files for ``tests/test_fuzz.py``: mutated and hand-made
MIDI, MusicXML and ABC.

Every case is ``(name, data)``: the file name (its extension picks the format when
the content does not) and its bytes. The same call always returns the same bytes.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# ==================================================================== MIDI
def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + body


def midi(*tracks: bytes, fmt: int = 1, division: int = 480, ntracks: int | None = None) -> bytes:
    """A MIDI file whose track chunks hold ``tracks`` (each gets an end-of-track)."""
    header = chunk(b"MThd", struct.pack(">HHH", fmt, len(tracks) if ntracks is None else ntracks, division))
    return header + b"".join(chunk(b"MTrk", body + b"\x00\xff\x2f\x00") for body in tracks)


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, high bit = more follows)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def meta(kind: int, payload: bytes, delta: int = 0, length: int | None = None) -> bytes:
    """A meta event; ``length`` may lie about the payload."""
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(payload) if length is None else length) + payload


def note(pitch: int = 60, ticks: int = 480, delta: int = 0, velocity: int = 80, channel: int = 0) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity]) + vlq(ticks) + bytes([0x80 | channel, pitch, 64])


ONE_NOTE = note()


def tempo(mspq: int, width: int = 3) -> bytes:
    return meta(0x51, mspq.to_bytes(width, "big"))


def time_sig(numerator: int, denominator_power: int) -> bytes:
    return meta(0x58, bytes([numerator, denominator_power, 24, 8]))


def many_notes(count: int, step: int = 120) -> bytes:
    """``count`` notes, one every ``step`` ticks, with running status."""
    body = bytearray(b"\x00\x90")
    for i in range(count):
        pitch = 48 + i % 36
        body += bytes([pitch, 80]) + vlq(step) + bytes([pitch, 0]) + (b"\x00" if i + 1 < count else b"")
    return bytes(body)


def midi_bases() -> dict[str, bytes]:
    """Valid MIDI files the mutations start from."""
    return {
        "twinkle": (FIXTURES / "twinkle.mid").read_bytes(),
        "chords": (FIXTURES / "chords.mid").read_bytes(),
        "fmt0": midi(tempo(500_000) + time_sig(3, 2) + meta(0x59, b"\x02\x00") + meta(0x03, b"Lead")
                     + b"".join(note(60 + i % 12, 240) for i in range(24)), fmt=0),
        "two_tracks": midi(tempo(600_000) + time_sig(6, 3), b"".join(note(48 + i, 480, channel=1) for i in range(12)),
                           b"".join(note(36, 120, channel=9) for _ in range(16))),
    }


def midi_hand_made() -> list[tuple[str, bytes]]:
    """Files broken in one known way each: header fields, chunk lengths, meta events, timing."""
    cases: list[tuple[str, bytes]] = []
    good = midi(ONE_NOTE)
    for ntracks in (0, 2, 0xFFFF):
        cases.append((f"ntracks_{ntracks}.mid", midi(ONE_NOTE, ntracks=ntracks)))
    cases.append(("zero_tracks.mid", chunk(b"MThd", struct.pack(">HHH", 1, 0, 480))))
    cases.append(("header_only_1track.mid", chunk(b"MThd", struct.pack(">HHH", 1, 1, 480))))
    for fmt in (3, 0xFFFF):
        cases.append((f"format_{fmt}.mid", midi(ONE_NOTE, fmt=fmt)))
    for division in (0, 1, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF):
        cases.append((f"division_{division}.mid", midi(ONE_NOTE, division=division)))
    for length in (0, 5, 7, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF):
        cases.append((f"header_len_{length}.mid", b"MThd" + struct.pack(">IHHH", length, 0, 1, 480) + good[14:]))
    track = good[22:]
    for length in (0, 1, 3, len(track) - 1, len(track) + 1, 0x7FFFFFFF, 0xFFFFFFFF):
        cases.append((f"track_len_{length}.mid", good[:18] + struct.pack(">I", length) + track))
    cases.append(("unknown_chunk_huge.mid", good[:14] + b"XFIH" + struct.pack(">I", 0xFFFFFFF0) + good[14:]))
    cases.append(("unknown_chunk_first.mid", good[:14] + chunk(b"XFIH", b"junk") + good[14:]))
    cases.append(("mtrk_no_header.mid", good[14:]))
    # Tempos: 0, 1 and 1e9 microseconds per beat; short, long and lying lengths.
    for mspq, width in ((0, 3), (1, 3), (600, 3), (0xFFFFFF, 3), (10**9, 4), (10**9, 8), (0x07A1, 2), (5, 1)):
        cases.append((f"tempo_{mspq}_w{width}.mid", midi(tempo(mspq, width) + ONE_NOTE)))
    cases.append(("tempo_len0.mid", midi(meta(0x51, b"", length=0) + ONE_NOTE)))
    cases.append(("tempo_len_lies.mid", midi(meta(0x51, b"\x07\xa1\x20", length=200) + ONE_NOTE)))
    cases.append(("tempo_midway_zero.mid", midi(ONE_NOTE + tempo(0) + ONE_NOTE)))
    cases.append(("tempo_thousands.mid", midi(b"".join(tempo(300_000 + i) + note(60, 1) for i in range(5000)))))
    # Time signatures: 0/0, 255/255, denominators that overflow or are odd.
    for num, power in ((0, 0), (0, 2), (255, 255), (4, 255), (4, 8), (4, 7), (4, 31), (4, 32), (255, 0),
                       (1, 0), (13, 3), (64, 0)):
        cases.append((f"timesig_{num}_{power}.mid", midi(time_sig(num, power) + ONE_NOTE)))
    cases.append(("timesig_len0.mid", midi(meta(0x58, b"", length=0) + ONE_NOTE)))
    cases.append(("timesig_len2.mid", midi(meta(0x58, b"\x03\x02") + ONE_NOTE)))
    # Key signatures out of range.
    for sf, mi in ((127, 0), (0x80, 1), (7, 5), (0xF9, 0xFF)):
        cases.append((f"keysig_{sf}_{mi}.mid", midi(meta(0x59, bytes([sf, mi])) + ONE_NOTE)))
    cases.append(("keysig_len0.mid", midi(meta(0x59, b"", length=0) + ONE_NOTE)))
    # Text in no encoding at all, and huge or lying lengths.
    for kind in (0x01, 0x03, 0x04, 0x05, 0x06):
        cases.append((f"text_{kind}_latin1.mid", midi(meta(kind, "Café façade".encode("latin-1")) + ONE_NOTE)))
        cases.append((f"text_{kind}_ff.mid", midi(meta(kind, b"\xff\xfe\xc3\x28\xa0\xa1\x80") + ONE_NOTE)))
    cases.append(("name_nul.mid", midi(meta(0x03, b"a\x00b\x00") + ONE_NOTE)))
    cases.append(("meta_len_vlq5.mid", midi(b"\x00\xff\x01\x8f\xff\xff\xff\x7fabc" + ONE_NOTE)))
    cases.append(("meta_len_4gb.mid", midi(b"\x00\xff\x7f\x8f\xff\xff\x7f" + b"x" * 16 + ONE_NOTE)))
    cases.append(("sysex_huge.mid", midi(b"\x00\xf0\x8f\xff\xff\x7f\x01\x02\xf7" + ONE_NOTE)))
    cases.append(("sysex_unterminated.mid", midi(b"\x00\xf0\x03\x01\x02\x03" + ONE_NOTE)))
    cases.append(("escape_f7.mid", midi(b"\x00\xf7\x02\x01\x02" + ONE_NOTE)))
    cases.append(("meta_unknown.mid", midi(meta(0x7E, b"\x00" * 40) + ONE_NOTE)))
    cases.append(("end_of_track_first.mid", midi(meta(0x2F, b"") + ONE_NOTE)))
    # Notes: never ended, ended twice, velocity 0, pitch 127, running status, huge deltas.
    cases.append(("note_never_ends.mid", midi(b"\x00\x90\x3c\x50" + meta(0x01, b"x", delta=960))))
    cases.append(("note_off_only.mid", midi(b"\x00\x80\x3c\x40" + ONE_NOTE)))
    cases.append(("note_vel0_only.mid", midi(b"\x00\x90\x3c\x00\x00\x90\x3c\x00")))
    cases.append(("note_double_on.mid", midi(b"\x00\x90\x3c\x50\x00\x90\x3c\x50\x83\x60\x80\x3c\x40")))
    cases.append(("note_pitch_127.mid", midi(note(127) + note(0))))
    cases.append(("note_zero_length.mid", midi(note(60, 0))))
    cases.append(("running_status_first.mid", midi(b"\x00\x3c\x50" + ONE_NOTE)))
    cases.append(("status_f4.mid", midi(b"\x00\xf4" + ONE_NOTE)))
    cases.append(("delta_max.mid", midi(note(60, 480, delta=0x0FFFFFFF))))
    cases.append(("delta_overflow.mid", midi(b"".join(note(60 + i, 480, delta=0x0FFFFFFF) for i in range(20)))))
    cases.append(("duration_2_31.mid", midi(note(60, 0x0FFFFFFF) + note(61, 0x0FFFFFFF))))
    cases.append(("delta_vlq_endless.mid", midi(b"\x00\x90\x3c\x50" + b"\xff" * 64 + b"\x00\x80\x3c\x40")))
    cases.append(("channel_prefix.mid", midi(meta(0x20, b"\x0f") + ONE_NOTE)))
    cases.append(("smpte_offset_bad.mid", midi(meta(0x54, b"\xff\xff\xff\xff\xff") + ONE_NOTE)))
    cases.append(("pitch_bend_cc.mid", midi(b"\x00\xe0\x7f\x7f\x00\xb0\x07\x7f\x00\xc0\x7f\x00\xd0\x40" + ONE_NOTE)))
    cases.append(("program_only.mid", midi(b"\x00\xc0\x05")))
    cases.append(("only_eot.mid", midi(b"")))
    # Many notes: 100,000 in a row, and 20,000 all at the same tick.
    cases.append(("notes_100k.mid", midi(many_notes(100_000))))
    cases.append(("notes_stacked.mid", midi(many_notes(20_000, step=0))))
    cases.append(("tracks_2000.mid", midi(*([ONE_NOTE] * 2000))))
    cases.append(("empty.mid", b""))
    cases.append(("one_byte.mid", b"M"))
    cases.append(("mthd_only.mid", b"MThd"))
    cases.append(("nul_bytes.mid", bytes(4096)))
    return cases


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of ``data``: (kind, mutated bytes)."""
    data = bytearray(data)
    kind = rng.choice(["truncate", "flip", "flip", "insert", "delete", "overwrite", "splice", "duplicate",
                       "length"])
    if kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind == "flip":
        for _ in range(rng.choice([1, 1, 2, 4, 16])):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "insert":
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.randbytes(rng.choice([1, 1, 2, 3, 8, 64]))
    elif kind == "delete":
        pos = rng.randrange(len(data))
        del data[pos:pos + rng.choice([1, 1, 2, 5, 40])]
    elif kind == "overwrite":
        pos = rng.randrange(len(data))
        data[pos:pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                                        rng.randbytes(4)])
    elif kind == "splice":
        data = data[: rng.randrange(len(data))] + rng.randbytes(rng.randrange(1, 300))
    elif kind == "duplicate":
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randrange(1, 64))
        pos = rng.randrange(len(data))
        data[pos:pos] = data[a:b] * rng.choice([1, 2, 50])
    else:  # a chunk length field (bytes 4-7 after a chunk tag) gets a huge or odd value
        tags = [i for i in range(len(data) - 8) if data[i:i + 4] in (b"MThd", b"MTrk")]
        pos = rng.choice(tags) + 4 if tags else 4
        value = rng.choice([0, 1, 6, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(2**32)])
        data[pos:pos + 4] = struct.pack(">I", value)
    return kind, bytes(data)


def midi_cases(mutants: int = 1000, seed: int = 8) -> list[tuple[str, bytes]]:
    """Hand-made broken files plus ``mutants`` random mutations of the valid bases."""
    rng = random.Random(seed)
    bases = midi_bases()
    cases = [(f"base_{name}.mid", data) for name, data in bases.items()] + midi_hand_made()
    names = sorted(bases)
    for i in range(mutants):
        base = names[i % len(names)]
        kind, data = mutate(bases[base], rng)
        cases.append((f"m{i:04d}_{base}_{kind}.mid", data))
    for i in range(20):
        cases.append((f"random{i:02d}.mid", rng.randbytes(rng.choice([1, 14, 100, 3000]))))
        cases.append((f"random_mthd{i:02d}.mid", b"MThd" + rng.randbytes(rng.choice([10, 100, 3000]))))
    return cases


# ================================================================ MusicXML
MELODY_XML = (FIXTURES / "melody.musicxml").read_text(encoding="utf-8")

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_PART_LIST = '<part-list><score-part id="P1"><part-name>P</part-name></score-part></part-list>'


def xml_score(measure_body: str, attributes: str = "<divisions>1</divisions>", head: str = _XML_HEAD,
              measures: int = 1) -> bytes:
    """A one-part MusicXML score; ``measure_body`` goes into every measure."""
    bars = "".join(
        f'<measure number="{i + 1}">' + (f"<attributes>{attributes}</attributes>" if i == 0 else "")
        + measure_body + "</measure>"
        for i in range(measures)
    )
    return (head + f'<score-partwise version="4.0">{_PART_LIST}<part id="P1">{bars}</part></score-partwise>\n'
            ).encode("utf-8")


def xml_note(step: str = "C", octave: str = "4", duration: str = "1", alter: str = "", extra: str = "") -> str:
    alter = f"<alter>{alter}</alter>" if alter else ""
    return (f"<note><pitch><step>{step}</step>{alter}<octave>{octave}</octave></pitch>"
            f"<duration>{duration}</duration>{extra}</note>")


def musicxml_hand_made() -> list[tuple[str, bytes]]:
    four = xml_note() * 4
    cases: list[tuple[str, bytes]] = []
    for beats, beat_type in (("0", "0"), ("255", "255"), ("3", "5"), ("4", "0"), ("0", "4"), ("-3", "4"),
                             ("1000000", "1"), ("3+2", "8"), ("x", "4"), ("4", "1e9")):
        attrs = f"<divisions>1</divisions><time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time>"
        cases.append((f"time_{beats}_{beat_type}.musicxml", xml_score(four, attrs)))
    for bpm in ("0", "1e9", "-60", "nan", "inf", "x"):
        direction = (f'<direction><direction-type><metronome><beat-unit>quarter</beat-unit>'
                     f'<per-minute>{bpm}</per-minute></metronome></direction-type><sound tempo="{bpm}"/></direction>')
        cases.append((f"tempo_{bpm}.musicxml", xml_score(direction + four)))
    for divisions in ("0", "-1", "1e9", "x", "99999999999999999999"):
        cases.append((f"divisions_{divisions}.musicxml", xml_score(four, f"<divisions>{divisions}</divisions>")))
    for duration in ("0", "-4", "1e12", "99999999999", "x", "nan"):
        cases.append((f"duration_{duration}.musicxml", xml_score(xml_note(duration=duration) + four)))
    for octave in ("99", "-9", "x"):
        cases.append((f"octave_{octave}.musicxml", xml_score(xml_note(octave=octave) + four)))
    for alter in ("1e9", "-200", "0.5", "x"):
        cases.append((f"alter_{alter}.musicxml", xml_score(xml_note(alter=alter) + four)))
    cases.append(("step_h.musicxml", xml_score(xml_note(step="H") + four)))
    cases.append(("fifths_99.musicxml", xml_score(four, "<divisions>1</divisions><key><fifths>99</fifths></key>")))
    cases.append(("tuplet_absurd.musicxml", xml_score(xml_note(extra="<time-modification><actual-notes>0"
                                                                       "</actual-notes><normal-notes>0</normal-notes>"
                                                                       "</time-modification>") + four)))
    cases.append(("backup_huge.musicxml", xml_score(four + "<backup><duration>99999999</duration></backup>" + four)))
    cases.append(("forward_huge.musicxml", xml_score("<forward><duration>999999999</duration></forward>" + four)))
    cases.append(("no_parts.musicxml", (_XML_HEAD + '<score-partwise version="4.0"/>').encode()))
    cases.append(("part_without_list.musicxml",
                  (_XML_HEAD + '<score-partwise><part id="X"><measure number="1">' + four
                   + "</measure></part></score-partwise>").encode()))
    cases.append(("only_rests.musicxml", xml_score("<note><rest/><duration>4</duration></note>")))
    cases.append(("tie_chain.musicxml", xml_score(xml_note(extra='<tie type="start"/>') * 4)))
    cases.append(("measures_400.musicxml", xml_score(four, measures=400)))
    # Text that is not what the prolog says, and no text at all.
    latin = xml_score(four).replace(b"<part-name>P", "<part-name>Caf\xe9".encode("latin-1"))
    cases.append(("latin1_as_utf8.musicxml", latin))
    cases.append(("bad_utf8.musicxml", xml_score(four).replace(b"<part-name>P", b"<part-name>\xc3\x28\xff\xfe")))
    cases.append(("utf16_declared_utf8.musicxml", xml_score(four).decode().encode("utf-16")))
    cases.append(("utf16_truncated.musicxml", xml_score(four).decode().encode("utf-16")[:301]))
    cases.append(("encoding_bogus.musicxml", xml_score(four, head='<?xml version="1.0" encoding="x-nope"?>\n')))
    cases.append(("nul_in_text.musicxml", xml_score(four).replace(b"<part-name>P", b"<part-name>\x00\x01")))
    # Nesting and entities: deep trees, the billion laughs, an external entity.
    for depth in (1000, 100_000):
        deep = "<a>" * depth + "</a>" * depth
        cases.append((f"nested_{depth}.musicxml", xml_score(deep + four)))
        cases.append((f"nested_open_{depth}.musicxml", (_XML_HEAD + "<score-partwise>" + "<a>" * depth).encode()))
    laughs = '<!DOCTYPE score-partwise [<!ENTITY l0 "ha">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)) + "]>\n"
    cases.append(("billion_laughs.musicxml", xml_score(xml_note() + "<!-- &l9; -->" + four, head=_XML_HEAD + laughs)
                  .replace(b"<part-name>P", b"<part-name>&l9;")))
    xxe = '<!DOCTYPE score-partwise [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    cases.append(("external_entity.musicxml", xml_score(four, head=_XML_HEAD + xxe)
                  .replace(b"<part-name>P", b"<part-name>&x;")))
    cases.append(("undefined_entity.musicxml", xml_score(four).replace(b"<part-name>P", b"<part-name>&nope;")))
    cases.append(("empty.musicxml", b""))
    cases.append(("prolog_only.musicxml", _XML_HEAD.encode()))
    cases.append(("random.musicxml", random.Random(5).randbytes(2000)))
    cases.append(("random_text.musicxml", (_XML_HEAD + "<score-partwise>").encode()
                  + bytes(random.Random(6).choice(b"<>/=\" abcdenot") for _ in range(3000))))
    # MXL: a zip that holds garbage, nothing, or lies about its size.
    cases.extend(mxl_cases())
    return cases


def mxl_cases() -> list[tuple[str, bytes]]:
    import io
    import zipfile

    def archive(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():  # a fixed timestamp: the same bytes on every call
                z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        return buf.getvalue()

    container = (b'<?xml version="1.0"?><container><rootfiles><rootfile full-path="score.xml"/>'
                 b"</rootfiles></container>")
    good = archive({"META-INF/container.xml": container, "score.xml": MELODY_XML.encode()})
    cases = [
        ("good.mxl", good),
        ("garbage_member.mxl", archive({"META-INF/container.xml": container, "score.xml": b"\x00\xff" * 100})),
        ("no_container.mxl", archive({"score.xml": MELODY_XML.encode()})),
        ("container_points_nowhere.mxl", archive({"META-INF/container.xml": container, "other.xml": b"<a/>"})),
        ("zip_bomb.mxl", archive({"META-INF/container.xml": container, "score.xml": b" " * 3_000_000})),
        ("truncated.mxl", good[: len(good) // 2]),
    ]
    # Lie about the uncompressed size in the central directory.
    lying = bytearray(good)
    cd = lying.rfind(b"PK\x01\x02")
    while cd >= 0:
        lying[cd + 24:cd + 28] = struct.pack("<I", 0xFFFFFFF0)
        cd = lying.rfind(b"PK\x01\x02", 0, cd)
    cases.append(("size_lies.mxl", bytes(lying)))
    rng = random.Random(11)
    for i in range(10):
        cases.append((f"mxl_mutant{i}.mxl", mutate(good, rng)[1]))
    return cases


def text_mutate(text: str, rng: random.Random) -> tuple[str, bytes]:
    """A mutation that keeps most of a text file: cut, swap, drop or duplicate lines,
    or a byte-level mutation; sometimes non-UTF-8 bytes."""
    kind = rng.choice(["bytes", "bytes", "cut", "drop_line", "dup_line", "swap_chars", "latin1", "invalid_utf8"])
    if kind == "bytes":
        return mutate(text.encode("utf-8"), rng)
    if kind == "cut":
        return kind, text[: rng.randrange(len(text))].encode("utf-8")
    lines = text.splitlines(keepends=True)
    if kind == "drop_line":
        del lines[rng.randrange(len(lines))]
        return kind, "".join(lines).encode("utf-8")
    if kind == "dup_line":
        i = rng.randrange(len(lines))
        lines[i:i] = [lines[i]] * rng.choice([1, 3, 30])
        return kind, "".join(lines).encode("utf-8")
    if kind == "swap_chars":
        chars = list(text)
        for _ in range(rng.choice([1, 3, 10])):
            a, b = rng.randrange(len(chars)), rng.randrange(len(chars))
            chars[a], chars[b] = chars[b], chars[a]
        return kind, "".join(chars).encode("utf-8")
    data = bytearray(text.encode("utf-8"))
    pos = rng.randrange(len(data))
    data[pos:pos] = "é ñ ü".encode("latin-1") if kind == "latin1" else rng.choice(
        [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x90\x28\xbc", b"\x80\x80\x80"])
    return kind, bytes(data)


def musicxml_cases(mutants: int = 150, seed: int = 21) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    cases = [("base_melody.musicxml", MELODY_XML.encode())] + musicxml_hand_made()
    for i in range(mutants):
        kind, data = text_mutate(MELODY_XML, rng)
        cases.append((f"x{i:03d}_{kind}.musicxml", data))
    return cases


# ===================================================================== ABC
TUNES_ABC = (FIXTURES / "tunes.abc").read_text(encoding="utf-8")
ONE_TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n|:DEFG ABcd|e2d2 c2B2:|\n[DFA]2 (3ABc d4|]\n"


def abc_tune(body: str = "CDEF GABc|", **fields: str) -> str:
    head = {"X": "1", "T": "t", "M": "4/4", "L": "1/8", "K": "C", **fields}
    order = [k for k in ("X", "T", "M", "L", "Q", "K") if k in head]
    return "".join(f"{k}:{head[k]}\n" for k in order if head[k] is not None) + body + "\n"


def abc_hand_made() -> list[tuple[str, bytes]]:
    cases: list[tuple[str, str | bytes]] = []
    for meter in ("0/0", "255/255", "3/5", "4/0", "0/4", "1000000/1", "C|", "-3/4", "x", "99999999999/8"):
        cases.append((f"meter_{meter.replace('/', '_')}.abc", abc_tune(M=meter)))
    for unit in ("1/0", "0/1", "1/1000000", "1/3", "x", "1000/1"):
        cases.append((f"length_{unit.replace('/', '_')}.abc", abc_tune(L=unit)))
    for q in ("0", "1/4=0", "1/4=1000000000", "1/4=-60", "1/0=120", "x", "1/4=1e9"):
        cases.append((f"tempo_{q.replace('/', '_')}.abc", abc_tune(Q=q)))
    for key in ("Zb", "C#####", "Hp", "none", "C exp _b _e ^f", "Dphr clef=x"):
        cases.append((f"key_{key}.abc", abc_tune(K=key)))
    for name, body in (
        ("octave_high", "c''''''''''''''''''''''''|"), ("octave_low", "C,,,,,,,,,,,,,,,,,,,,,,,,|"),
        ("long_note", "C99999999|"), ("short_note", "C/99999999|"), ("zero_note", "C0 D0|"),
        ("broken_rhythm", "C>>>>>>>>>>D|"), ("tuplet_huge", "(99999CDE|"), ("tuplet_zero", "(0CDE|"),
        ("tuplet_ratio", "(3:0:9CDEF|"), ("accidentals", "^^^^^^^^C ________D|"),
        ("chord_big", "[" + "CEGc" * 50 + "]|"),
        ("chord_open", "[CEG|"), ("slur_open", "((((((((CDEF|"), ("grace_only", "{CDEF}|"),
        ("repeats", "|:" * 200 + "CDEF" + ":|" * 200), ("endings", "|1 C :|2 D :|3 E :|" * 50),
        ("rests_only", "z8|z8|"), ("ties_only", "C-C-C-C-C-C-|"), ("decorations", "!trill!!nope!!!C|"),
        ("inline_fields", "[M:0/0]C[L:1/0]D[K:Zz]E|"), ("chord_symbols", '"Cmaj7"C "@@@"D|'),
        ("lyrics", "CDEF|\nw:" + "la-" * 500), ("voices", "[V:1]CDEF|[V:2]GABc|[V:3]cdef|"),
        ("overlay", "CDEF&GABc&cdef|"), ("no_notes", "|||"), ("only_bars", "|]|]|]"),
    ):
        cases.append((f"{name}.abc", abc_tune(body)))
    cases.append(("no_key.abc", "X:1\nT:t\nM:4/4\nL:1/8\nCDEF|\n"))
    cases.append(("x_only.abc", "X:1\n"))
    cases.append(("x_lines_500.abc", "X:1\n" * 500))
    cases.append(("header_only.abc", "%abc-2.1\nM:4/4\nL:1/8\n"))
    cases.append(("latin1.abc", abc_tune(T="Caf\xe9").encode("latin-1")))
    cases.append(("bad_utf8.abc", abc_tune().encode() + b"\xc3\x28\xff\xfe\x80 CDEF|\n"))
    cases.append(("utf16.abc", abc_tune().encode("utf-16")))
    cases.append(("nul.abc", abc_tune().encode() + b"\x00" * 10))
    cases.append(("crlf.abc", abc_tune().replace("\n", "\r\n").encode()))
    cases.append(("cr_only.abc", abc_tune().replace("\n", "\r").encode()))
    cases.append(("very_long_line.abc", abc_tune("C" * 20_000 + "|")))
    cases.append(("empty.abc", b""))
    cases.append(("whitespace.abc", b" \n\t\n"))
    cases.append(("random.abc", random.Random(3).randbytes(1500)))
    alphabet = "ABCDEFGabcdefgz,'/2345|:[]()^_=-<>!\"{}"
    noise = "".join(random.Random(4).choice(alphabet) for _ in range(800))
    cases.append(("random_abcish.abc", ("X:1\nK:C\n" + noise).encode()))
    return [(n, d.encode("utf-8") if isinstance(d, str) else d) for n, d in cases]


def abc_cases(mutants: int = 150, seed: int = 34) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    cases = [("base_tunes.abc", TUNES_ABC.encode()), ("base_one.abc", ONE_TUNE.encode())] + abc_hand_made()
    for i in range(mutants):
        kind, data = text_mutate(ONE_TUNE if i % 3 else TUNES_ABC, rng)
        cases.append((f"a{i:03d}_{kind}.abc", data))
    return cases


def all_cases() -> list[tuple[str, bytes]]:
    return midi_cases() + musicxml_cases() + abc_cases()
