"""The order a reader needs: the reading edition (screen PDF and web page) follows it.

A print layout places sections where they fit on paper (a brochure's fold-in panel
comes first on the sheet); a reader on a screen needs title and key points, then
what it is, how it works, benefits, risks, recovery, questions and contact.

Each section may say which of these it is with `topic:` in the handout file. A
section without a topic stays with the section before it (in the file's order), so
a picture or a side note keeps its neighbour; untagged sections before the first
tagged one lead. The section types that are always about getting help or reaching
the clinic have a default topic. A handout with no topics at all keeps its
file's order, which is right for a discharge sheet written top to bottom.
"""

from __future__ import annotations

from .content import Section

# The order of the reading edition: the key points come right after the title
# (templates/reading.html shows a summary only where no key points follow it).
TOPICS = ("key-points", "about", "procedure", "benefits", "risks", "recovery", "questions",
          "contact")
TYPE_TOPICS = {"call-clinic": "risks", "call-911": "risks", "contacts": "contact"}


def topic_of(section: Section) -> str | None:
    return section.topic or TYPE_TOPICS.get(section.type)


def reading_order(sections: tuple[Section, ...] | list[Section]) -> tuple[Section, ...]:
    """A stable sort by topic rank; untagged sections borrow the rank before them."""
    ranks, rank = [], -1
    for section in sections:
        topic = topic_of(section)
        if topic is not None:
            rank = TOPICS.index(topic)
        ranks.append(rank)
    order = sorted(range(len(sections)), key=lambda index: (ranks[index], index))
    return tuple(sections[index] for index in order)
