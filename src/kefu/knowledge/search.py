"""Knowledge search: jieba words + Chinese character bigrams (typo tolerance) + Latin words,
finance synonyms across zh/en, BM25 ranking (bm25s). Titles, alternative questions and tags
weigh more than bodies: they are what customers actually type."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
import bm25s
import jieba
import numpy as np
import snowballstemmer
from pypinyin import lazy_pinyin

from kefu.knowledge.articles import Article

jieba.setLogLevel(logging.WARNING)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9+.%-]+")
# Function words of customers' questions, left out of the word tokens (character pairs keep
# them: cutting runs at them measured worse on typos).
STOP_ZH = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 哦 哈 是 我 我的 我们 你 你们 您 您好 你好 他 她 它 这 那 这个
    那个 这样 那样 怎么 怎么办 怎样 怎么样 如何 什么 为什么 为啥 啥 请问 请 一下 可以 可不可以
    能 能不能 是不是 是否 有没有 会不会 要 想 还 就 都 也 又 在 和 与 或 跟 把 被 给 让 得 地
    着 过 么 么样 呢 一个 现在 已经 谢谢 麻烦""".split()
)
STOP = STOP_ZH | frozenset(
    """a an the is my i do to of how what why can t it in for on and does you your me be are
    was will when where which this that there with from if so have has should would could
    about at or by get want need""".split()
)


# A snowball stemmer keeps its working state on the object: two threads stemming with one
# stemmer corrupt each other (an IndexError crashed the server when two desk pages built the
# index at once), so each thread of the server's pool has its own.
_stemmers = threading.local()


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if not word.isalpha():
        return word  # t+1, 0.05%, 12386 stay as typed
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    norm = normalise(text)
    out: list[str] = []
    for run in _RUN.findall(norm):
        if _CJK.match(run):
            out.extend(w for w in jieba.lcut_for_search(run) if w not in STOP)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            # the sound of each character pair: most Chinese typos are homophones typed by
            # pinyin input (提线 for 提现, 开护 for 开户), which share these tokens
            sounds = lazy_pinyin(run)
            out.extend(f"{sounds[i]}_{sounds[i + 1]}" for i in range(len(sounds) - 1))
        else:
            w = _stem(run.strip(".-"))
            if w and w not in STOP:
                out.append(w)
    return out


def is_chinese(text: str) -> bool:
    """Whether the text holds any Chinese character (it is then searched and stored as zh)."""
    return _CJK.search(text) is not None


#: the best article is a message's intent only if it holds this share of the message's tokens:
#: 99% of the development questions keep theirs; it drops only blatant mismatches (6 of 23
#: questions on topics no article covers lose their wrong intent; bench/routing.py)
INTENT_MIN_COVERAGE = 0.35


class Synonyms:
    """Phrase-level synonym expansion: a group member found in the query (a Chinese substring,
    or Latin words on word boundaries) adds the tokens of the group's other members. Matching
    whole phrases, not their tokens, keeps 到账 from dragging every 到 and 账 into a query."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups = [tuple(normalise(str(m)) for m in g) for g in groups]
        self.group_tokens = [tuple(tuple(tokens(m)) for m in g) for g in self.groups]
        self.automaton = ahocorasick.Automaton()
        for gi, group in enumerate(self.groups):
            for mi, member in enumerate(group):
                entries = self.automaton.get(member, []) if member in self.automaton else []
                self.automaton.add_word(member, [*entries, (gi, mi, len(member))])
        if self.groups:
            self.automaton.make_automaton()

    def expand(self, query: str) -> list[str]:
        """Tokens of the members that the query does not itself contain, each once."""
        text = normalise(query)
        if not self.groups:
            return []
        found: dict[int, set[int]] = {}
        for end, entries in self.automaton.iter(text):
            for gi, mi, length in entries:
                start = end - length + 1
                member = self.groups[gi][mi]
                if member[0].isascii() and member[0].isalnum() and start > 0:
                    if text[start - 1].isascii() and text[start - 1].isalnum():
                        continue  # inside a longer Latin word
                if member[-1].isascii() and member[-1].isalnum() and end + 1 < len(text):
                    nxt = text[end + 1]
                    if nxt.isascii() and nxt.isalpha():
                        continue
                found.setdefault(gi, set()).add(mi)
        out: list[str] = []
        seen: set[str] = set()
        for gi, members in found.items():
            for mi, toks in enumerate(self.group_tokens[gi]):
                if mi in members:
                    continue
                for t in toks:
                    if t not in seen:
                        seen.add(t)
                        out.append(t)
        return out


NO_SYNONYMS = Synonyms(())


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    score: float
    snippet: str

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "title": self.title,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


def _snippet(body: str, limit: int = 120) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"[#*>`|-]", " ", body)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Field:
    """One BM25 index over token lists whose documents belong to articles (one document per
    article, or one per title / alternative question)."""

    def __init__(self, docs: Sequence[list[str]], owners: Sequence[int]) -> None:
        self.owners = np.asarray(owners, dtype=np.int64)
        self.vocab = {t for d in docs for t in d}
        self.retriever = bm25s.BM25()
        if docs:
            self.retriever.index(list(docs), show_progress=False)

    def scores(self, query: list[str], k: int) -> dict[int, float]:
        """Best score per article among the top ``k`` documents."""
        q = [t for t in query if t in self.vocab]
        if not q or not len(self.owners):
            return {}
        k = min(k, len(self.owners))
        ids, scores = self.retriever.retrieve([q], k=k, show_progress=False)
        best: dict[int, float] = {}
        for i, s in zip(np.asarray(ids)[0], np.asarray(scores)[0], strict=True):
            if s > 0:
                owner = int(self.owners[int(i)])
                best[owner] = max(best.get(owner, 0.0), float(s))
        return best


class KnowledgeIndex:
    """Two fields, fused: the whole article (titles, questions and tags weighted over the body)
    and its questions one by one (a customer's question usually resembles one of them closely,
    which the long article document dilutes). Each field's scores are scaled to its best hit."""

    QUESTION_WEIGHT = 0.5
    DEPTH = 50

    def __init__(
        self,
        articles: Sequence[Article],
        whole: _Field,
        questions: _Field,
        synonyms: Synonyms = NO_SYNONYMS,
    ) -> None:
        self.articles = list(articles)
        self.whole = whole
        self.questions = questions
        self.synonyms = synonyms
        self._tokens: dict[str, frozenset[str]] = {}

    @classmethod
    def build(cls, articles: Sequence[Article], synonyms: Synonyms = NO_SYNONYMS) -> KnowledgeIndex:
        """``synonyms``: the policy's groups (knowledge/content.py loads the shipped ones)."""
        docs: list[list[str]] = []
        q_docs: list[list[str]] = []
        q_owners: list[int] = []
        for ai, a in enumerate(articles):
            strong = " ".join(
                (
                    a.title_zh,
                    a.title_en,
                    *a.questions_zh,
                    *a.questions_en,
                    *a.tags,
                    a.slug.replace(".", " ").replace("-", " "),
                )
            )
            docs.append(tokens(strong) * 3 + tokens(a.body_zh) + tokens(a.body_en))
            for text in (a.title_zh, a.title_en, *a.questions_zh, *a.questions_en):
                toks = tokens(text)
                if toks:
                    q_docs.append(toks)
                    q_owners.append(ai)
        index = cls(articles, _Field(docs, range(len(docs))), _Field(q_docs, q_owners), synonyms)
        index._tokens = {a.slug: frozenset(d) for a, d in zip(articles, docs, strict=True)}
        return index

    def intent(self, query: str) -> str:
        """The slug of the article that answers ``query``, or "" when even the best hit holds
        less than INTENT_MIN_COVERAGE of its tokens (a topic no article covers)."""
        hits = self.search(query, top=1)
        if not hits or self.coverage(query, hits[0].slug) < INTENT_MIN_COVERAGE:
            return ""
        return hits[0].slug

    def coverage(self, query: str, slug: str) -> float:
        """The share of the query's own tokens that article ``slug`` contains: low when the
        best hit shares only a word or two with a question the knowledge base does not cover
        (交割单 → the app article, on 下载)."""
        typed = tokens(query)
        have = self._tokens.get(slug, frozenset())
        return sum(t in have for t in typed) / len(typed) if typed else 0.0

    def search(self, query: str, top: int = 5, lang: str | None = None) -> list[Hit]:
        if not self.articles:
            return []
        lang = lang or ("zh" if is_chinese(query) else "en")
        typed = tokens(query)
        q = [t for t in typed for _ in (0, 1)]  # what the customer typed counts twice
        q.extend(t for t in self.synonyms.expand(query) if t not in typed)
        whole = self.whole.scores(q, self.DEPTH)
        if not whole:
            return []
        questions = self.questions.scores(q, self.DEPTH * 4)
        top_whole = max(whole.values())
        top_q = max(questions.values(), default=1.0)
        fused = {
            ai: s / top_whole + self.QUESTION_WEIGHT * questions.get(ai, 0.0) / top_q
            for ai, s in whole.items()
        }
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        hits = []
        for ai, score in ranked:
            a = self.articles[ai]
            hits.append(Hit(a.slug, a.title(lang), score, _snippet(a.body(lang))))
        return hits
