"""Deterministic sample data: the items every endpoint lists and the files their URLs serve.

Same config (seed and sizes) and base URL give the same dataset, so tests can compare what
a client collected with what the server holds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from ._config import SandboxConfig
from ._pagination import Item

_EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN: Final = timedelta(days=830)  # up to April 2026
_PLAIN_TIMESTAMPS: Final = 0.2  # share of "YYYY-MM-DD HH:MM:SS" timestamps, the rest ISO

_ADJECTIVES: Final = (
    "bold", "bright", "calm", "classic", "clean", "cozy", "crisp", "fresh", "golden", "modern",
    "playful", "quiet", "retro", "rustic", "sunny", "urban", "vivid", "warm", "wild", "autumn",
)  # fmt: skip
_NOUNS: Final = (
    "beach", "city", "coffee", "forest", "garden", "harbor", "launch", "market", "mountain",
    "ocean", "party", "river", "sale", "skyline", "studio", "sunset", "team", "valley",
)  # fmt: skip
_FORMATS: Final = ("Flyer", "Story", "Post", "Banner", "Poster", "Card")
_CANVASES: Final = ((1080, 1080), (1080, 1920), (1200, 628), (1920, 1080), (2480, 3508))
_TAG_WORDS: Final = (
    "Holiday", "Promotion", "Event", "Product", "Social", "Print", "Seasonal", "Minimal",
    "Corporate", "Food", "Fashion", "Travel", "Fitness", "Education", "Music", "Nature",
)  # fmt: skip
_KIT_NAMES: Final = ("Primary Brand", "Seasonal Campaign", "Partner Co-brand", "Legacy Brand")
_COLOR_NAMES: Final = ("Primary", "Secondary", "Accent", "Background", "Text", "Highlight")
# (type, mime type, file extension, has pixel dimensions), drawn with _ASSET_WEIGHTS
_ASSET_KINDS: Final = (
    ("image", "image/png", "png", True),
    ("image", "image/jpeg", "jpg", True),
    ("image", "image/webp", "webp", True),
    ("image", "image/svg+xml", "svg", False),
    ("video", "video/mp4", "mp4", True),
    ("document", "application/pdf", "pdf", False),
)
_ASSET_WEIGHTS: Final = (5, 6, 2, 1, 1, 1)
_DIGESTS: Final = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "checksum": "sha256"}

_BLOCK: Final = 64 * 1024  # file bytes are built a block at a time
_TAG: Final = 16  # leading bytes of a block that only its file, version and index have
_POOL_SIZE: Final = 1 << 20  # blocks are windows of one fixed random pool this long, plus a block
_POOL: Final = hashlib.shake_256(b"cliquify-async sandbox files").digest(_POOL_SIZE + _BLOCK)


@attrs.frozen
class FileSpec:
    """A file the sandbox serves under /files: its length, content type and version (0 as
    generated, one more each time a test changes it)."""

    size: int
    content_type: str
    version: int = 0

    def changed(self, size: int | None = None) -> FileSpec:
        """The next version: new bytes, and ``size`` bytes of them if given."""
        if size is not None and size < 0:
            raise ValueError(f"size must not be negative, got {size}")
        return attrs.evolve(
            self, size=self.size if size is None else size, version=self.version + 1
        )


@attrs.frozen
class Dataset:
    """Items by resource key (exactly as served) and the files their URLs point to."""

    items: dict[str, list[Item]]
    files: dict[str, FileSpec]


def file_bytes(path: str, size: int, *, version: int = 0, start: int = 0) -> bytes:
    """Bytes ``start`` to ``size`` of the file at ``path`` in ``version`` (0: as generated).

    Made of 64 KiB blocks, each from its (path, version, index) alone: a range costs only its
    own blocks, and a shorter file of the same path and version is a prefix of a longer one.
    """
    first = start // _BLOCK
    blocks = b"".join(_block(path, version, n) for n in range(first, -(-size // _BLOCK)))
    return blocks[start - first * _BLOCK : size - first * _BLOCK]


def file_digest(path: str, size: int, algorithm: str, *, version: int = 0) -> str:
    """The hex ``algorithm`` (a hashlib name) digest of a file, hashed a block at a time."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    for start in range(0, size, _BLOCK):
        digest.update(file_bytes(path, min(start + _BLOCK, size), version=version, start=start))
    return digest.hexdigest()


def _block(path: str, version: int, index: int) -> bytes:
    """One block of a file: a tag unique to (path, version, index), then a window of the pool
    at an offset the same hash picks. Copying beats generating: gigabytes a second."""
    key = hashlib.blake2b(f"{version}:{index}:{path}".encode(), digest_size=_TAG + 8).digest()
    offset = int.from_bytes(key[_TAG:]) % _POOL_SIZE
    return key[:_TAG] + _POOL[offset : offset + _BLOCK - _TAG]


def generate(config: SandboxConfig, base_url: str) -> Dataset:
    """Build every resource list for ``config``, with file URLs under ``base_url``."""
    return _Builder(config, base_url).build()


class _Builder:
    """Draws all values from one seeded generator, in a fixed order."""

    def __init__(self, config: SandboxConfig, base_url: str) -> None:
        self._config = config
        self._base_url = base_url
        self._rng = random.Random(config.seed)
        self._files: dict[str, FileSpec] = {}

    def build(self) -> Dataset:
        c, rng = self._config, self._rng
        kits = [self._brand_kit(n) for n in range(1, c.brand_kits + 1)]
        logo_kits = [kit["id"] for kit in kits for _ in range(c.logos_per_kit)]
        color_kits = [kit["id"] for kit in kits for _ in range(c.colors_per_kit)]
        template_tags = self._names(_TAG_WORDS, c.template_tags)
        asset_tags = self._names(_TAG_WORDS, c.asset_tags)
        template_tag_ids = [self._tag_ids(len(template_tags)) for _ in range(c.templates)]
        asset_tag_ids = [self._tag_ids(len(asset_tags)) for _ in range(c.assets)]
        folder_parents = [
            None if n == 1 or rng.random() < 0.5 else rng.randint(1, n - 1)
            for n in range(1, c.folders + 1)
        ]
        asset_folders = [rng.randint(1, c.folders) if c.folders else None for _ in range(c.assets)]
        tags = {
            "template_tags": self._tags(template_tags, template_tag_ids),
            "asset_tags": self._tags(asset_tags, asset_tag_ids),
        }
        items = {
            "templates": [
                self._template(n, [dict(tags["template_tags"][i - 1]) for i in ids])
                for n, ids in enumerate(template_tag_ids, 1)
            ],
            **tags,
            "folders": [
                self._folder(n, parent, asset_folders.count(n))
                for n, parent in enumerate(folder_parents, 1)
            ],
            "assets": [
                self._asset(n, folder, [dict(tags["asset_tags"][i - 1]) for i in ids])
                for n, (folder, ids) in enumerate(zip(asset_folders, asset_tag_ids, strict=True), 1)
            ],
            "brand_kits": kits,
            "logos": [self._logo(n, kit) for n, kit in enumerate(logo_kits, 1)],
            "colors": [self._color(n, kit) for n, kit in enumerate(color_kits, 1)],
        }
        return Dataset(items=items, files=self._files)

    def _names(self, words: Sequence[str], count: int) -> list[str]:
        """``count`` distinct names drawn from ``words``, numbered once the words run out."""
        shuffled = self._rng.sample(words, len(words))
        return [
            shuffled[n % len(words)] + (f" {n // len(words) + 1}" if n >= len(words) else "")
            for n in range(count)
        ]

    def _tag_ids(self, available: int) -> list[int]:
        """Zero to three distinct tag ids (1-based), sorted."""
        count = min(self._rng.randint(0, 3), available)
        return sorted(self._rng.sample(range(1, available + 1), count))

    def _tags(self, names: Sequence[str], tagged: Sequence[Sequence[int]]) -> list[Item]:
        return [
            self._finish(
                {
                    "id": n,
                    "name": name,
                    "slug": name.lower().replace(" ", "-"),
                    "count": sum(n in ids for ids in tagged),
                }
            )
            for n, name in enumerate(names, 1)
        ]

    def _template(self, n: int, tags: list[Item]) -> Item:
        rng = self._rng
        words = (rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_FORMATS))
        width, height = rng.choice(_CANVASES)
        created_at, updated_at = self._timestamps()
        return self._finish(
            {
                "id": n,
                "name": f"{words[0].title()} {words[1].title()} {words[2]}",
                "description": None if rng.random() < 0.2 else f"A {' '.join(words).lower()}.",
                "thumbnail_url": self._file(f"templates/{n}/thumbnail.jpg", "image/jpeg", 8_000),
                "preview_url": self._file(f"templates/{n}/preview.png", "image/png", 60_000),
                "width": width,
                "height": height,
                "tags": tags,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

    def _folder(self, n: int, parent_id: int | None, assets_count: int) -> Item:
        created_at, updated_at = self._timestamps()
        return self._finish(
            {
                "id": n,
                "name": f"{self._rng.choice(_NOUNS).title()} {n}",
                "parent_id": parent_id,
                "assets_count": assets_count,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

    def _asset(self, n: int, folder_id: int | None, tags: list[Item]) -> Item:
        rng = self._rng
        kind, mime_type, extension, sized = rng.choices(_ASSET_KINDS, _ASSET_WEIGHTS)[0]
        name = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{n:04d}.{extension}"
        size = rng.randint(2_000, 200_000)  # drawn even when overridden: the rest stays the same
        if self._config.asset_file_size is not None:
            size = self._config.asset_file_size
        width, height = rng.choice(_CANVASES) if sized else (None, None)
        created_at, updated_at = self._timestamps()
        return self._finish(
            {
                "id": n,
                "name": name,
                "type": kind,
                "mime_type": mime_type,
                "url": self._file(f"assets/{n}/{name}", mime_type, size, exact=True),
                "thumbnail_url": self._file(f"assets/{n}/thumbnail.jpg", "image/jpeg", 8_000),
                "size": size,
                **self._checksum(f"/files/assets/{n}/{name}", size),
                "width": width,
                "height": height,
                "folder_id": folder_id,
                "tags": tags,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

    def _brand_kit(self, n: int) -> Item:
        created_at, updated_at = self._timestamps()
        name = _KIT_NAMES[(n - 1) % len(_KIT_NAMES)] + (f" {n}" if n > len(_KIT_NAMES) else "")
        return self._finish(
            {
                "id": n,
                "name": name,
                "description": f"Colours, logos and fonts of the {name.lower()}.",
                "is_default": n == 1,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

    def _logo(self, n: int, brand_kit_id: int) -> Item:
        svg = self._rng.random() < 0.3
        mime_type, extension = ("image/svg+xml", "svg") if svg else ("image/png", "png")
        width, height = self._rng.choice(((512, 512), (1024, 256), (800, 600)))
        return self._finish(
            {
                "id": n,
                "name": f"Logo {n}",
                "url": self._file(f"logos/{n}/logo-{n}.{extension}", mime_type, 40_000),
                "thumbnail_url": self._file(f"logos/{n}/thumbnail.png", "image/png", 4_000),
                "mime_type": mime_type,
                "width": width,
                "height": height,
                "brand_kit_id": brand_kit_id,
            }
        )

    def _color(self, n: int, brand_kit_id: int) -> Item:
        return self._finish(
            {
                "id": n,
                "name": self._rng.choice(_COLOR_NAMES),
                "hex": f"#{self._rng.randrange(0x1000000):06X}",
                "brand_kit_id": brand_kit_id,
            }
        )

    def _file(self, path: str, content_type: str, size: int, *, exact: bool = False) -> str:
        """Register a served file, return its absolute URL; ``size`` is a maximum unless exact."""
        if not exact:
            size = self._rng.randint(size // 4, size)
        self._files[f"/files/{path}"] = FileSpec(size=size, content_type=content_type)
        return f"{self._base_url}/files/{path}"

    def _checksum(self, path: str, size: int) -> dict[str, str]:
        """The ``asset_checksum`` field of an asset whose file is at ``path``, if configured."""
        field = self._config.asset_checksum
        return {} if field is None else {field: file_digest(path, size, _DIGESTS[field])}

    def _timestamps(self) -> tuple[str, str]:
        """``created_at`` and a later ``updated_at``, each in one of the two documented formats."""
        created = _EPOCH + self._rng.random() * _SPAN
        updated = created + self._rng.random() * (_EPOCH + _SPAN - created)
        return self._timestamp(created), self._timestamp(updated)

    def _timestamp(self, moment: datetime) -> str:
        moment = moment.replace(microsecond=0)
        if self._rng.random() < _PLAIN_TIMESTAMPS:
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")

    def _finish(self, item: dict[str, Any]) -> Item:
        """Apply ``drop_fields`` and ``extra_fields`` to a fresh item."""
        for name in self._config.drop_fields:
            item.pop(name, None)
        if self._config.extra_fields:
            item["x_sandbox"] = {"seed": self._config.seed, "generated": True}
        return item
