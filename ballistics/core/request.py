"""The app's request class: it remembers why a form body could not be read.

Werkzeug reads a malformed multipart body (for instance a part header, such as a file name,
that is not UTF-8) as an empty form without saying so, and the API would then answer "missing
file". Keeping the parser's reason lets the API say what is wrong instead.
"""

from __future__ import annotations

from flask import Request
from flask_babel import gettext as _
from werkzeug.formparser import FormDataParser


class _RecordingParser(FormDataParser):
    error: ValueError | None = None

    def parse(self, stream, mimetype, content_length, options=None):
        self.silent = False
        try:
            return super().parse(stream, mimetype, content_length, options)
        except ValueError as exc:  # what werkzeug drops silently: keep it, answer as it does
            self.error = exc
            return stream, self.cls(), self.cls()


class AppRequest(Request):
    form_data_parser_class = _RecordingParser
    _form_parser: _RecordingParser | None = None

    def make_form_data_parser(self) -> FormDataParser:
        self._form_parser = super().make_form_data_parser()  # type: ignore[assignment]
        return self._form_parser

    @property
    def form_error(self) -> str | None:
        """Why the form body could not be read, for a person; None if it was read."""
        self.form  # noqa: B018 - parses the body (once) if nothing has yet
        error = self._form_parser.error if self._form_parser is not None else None
        if error is None:
            return None
        if isinstance(error, UnicodeDecodeError):
            return _("A part header of the multipart body is not UTF-8 (a file name in another "
                     "encoding?); send the file name in UTF-8.")
        return _("The multipart body could not be read (%(error)s).", error=error)
