"""What kind of e-mail a template is, and the headers each message of it carries to say so.

Gmail and Yahoo require of bulk senders a `List-Unsubscribe` header with an https URL and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the mailbox then shows its own
"unsubscribe" button, which POSTs to the URL without asking anything. Every e-mail carries the signed
unsubscribe URL of its own message (`links.unsubscribe`, the one in its footer); the tracking service
opts the person out of e-mail on that POST, and shows a confirmation page on a GET.

A message is one of two classes, declared by its template (`mail/NAME.txt`):

- `information` (the default): a campaign's information e-mail. `List-Unsubscribe` and the one-click
  `List-Unsubscribe-Post`.
- `service`: about the person's own file, such as the acknowledgement of their complaint, declared
  with a header comment opening the file, as SMS templates declare their length:

      {# message_class: service #}

  `List-Unsubscribe` (opt-outs win over service messages too, and the footer offers it) but no
  `List-Unsubscribe-Post`: a mailbox button must not silently end the follow-up of a complaint; the
  link opens the page, which asks before opting out.

Both carry `X-Outreach-Message-Class` with their class, so a mailbox rule, SendGrid's activity feed or
an .eml in the outbox shows which one a message is. No `mailto:` is offered alongside the URL: nothing
reads a mailbox for unsubscribe requests, and an unread request would be an objection ignored.
"""

from __future__ import annotations

from typing import Literal

import yaml

from outreach.rendering.errors import TemplateError
from outreach.rendering.sms_header import HEADER_COMMENT

MessageClass = Literal["information", "service"]
MESSAGE_CLASSES: tuple[MessageClass, ...] = ("information", "service")
DEFAULT_CLASS: MessageClass = "information"

LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
CLASS_HEADER = "X-Outreach-Message-Class"


def read_message_class(name: str, source: str) -> MessageClass:
    """The class `mail/NAME.txt` declares in its header comment (`information` without one).

    A leading comment that is not `key: value` lines is an ordinary comment, not a header.
    """
    example = "start the file with {# message_class: service #} (or leave it out for information)"
    match = HEADER_COMMENT.match(source)
    if not match:
        return DEFAULT_CLASS
    try:
        values = yaml.safe_load("\n".join(line.strip() for line in match.group(1).splitlines()))
    except yaml.YAMLError:
        return DEFAULT_CLASS
    if not isinstance(values, dict):
        return DEFAULT_CLASS
    unknown = set(values) - {"message_class"}
    if unknown:
        raise TemplateError(name, 1, f"unknown header keys {sorted(unknown)}", example)
    declared = values.get("message_class", DEFAULT_CLASS)
    if declared not in MESSAGE_CLASSES:
        raise TemplateError(name, 1, f"message_class must be one of {', '.join(MESSAGE_CLASSES)}", example)
    return declared  # type: ignore[no-any-return]


def email_headers(message_class: MessageClass, unsubscribe: str) -> dict[str, str]:
    """The headers of one e-mail of `message_class` whose signed unsubscribe URL is `unsubscribe`."""
    headers = {LIST_UNSUBSCRIBE: f"<{unsubscribe}>", CLASS_HEADER: message_class}
    if message_class == "information":
        headers[LIST_UNSUBSCRIBE_POST] = ONE_CLICK
    return headers
