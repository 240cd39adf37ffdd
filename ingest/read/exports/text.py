"""What the export readers share: their bytes as text (CSV, HTML) and their XML through expat (SpreadsheetML,
flat ODS), each done once so that every export is decoded and refused alike."""

from __future__ import annotations

import codecs
import unicodedata
from typing import Protocol
from xml.parsers import expat

from ingest.read.safety import Refused, forbid_dtd


def decode_text(data: bytes, declared: str | None = None) -> str:
    """The file's text in NFC: by its BOM, else the ``declared`` codec (an HTML ``<meta>`` charset), else strict
    UTF-8, else Windows-1258 (what Vietnamese Windows writes; its tone marks are combining characters, hence NFC)."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8):].decode("utf-8", "replace")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", "replace")  # the codec reads the BOM for the byte order and drops it
    elif declared:
        text = data.decode(declared, "replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1258", "replace")
    return unicodedata.normalize("NFC", text)


class XmlHandlers(Protocol):
    def start(self, name: str, attrs: dict[str, str]) -> None: ...
    def end(self, name: str) -> None: ...
    def text(self, data: str) -> None: ...


def parse_xml(data: bytes, handlers: XmlHandlers, kind: str) -> None:
    """Stream ``data`` through expat into ``handlers`` (names as ``"namespace local"``); a DOCTYPE or entity is
    refused (``file-xml-entities``), never expanded, and XML that is not well-formed is ``file-damaged``."""
    parser = expat.ParserCreate(namespace_separator=" ")
    forbid_dtd(parser, kind)
    parser.buffer_text = True
    parser.StartElementHandler = handlers.start
    parser.EndElementHandler = handlers.end
    parser.CharacterDataHandler = handlers.text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise Refused("file-damaged", f"XmlError: {kind}: {exc}") from None
    except (ValueError, LookupError) as exc:  # an encoding expat cannot read, or one Python does not know
        raise Refused("file-damaged", f"XmlError: {kind}: {type(exc).__name__}: {exc}") from None
