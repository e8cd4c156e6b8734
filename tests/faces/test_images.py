"""tagmyphotos.faces.images on real files: content sniffing, orientation, modes, draft, limits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tagmyphotos.faces.images import ImageError, load_image, probe
from tests.support.base import TESTDATA

FACES = TESTDATA / "faces"
REAL = TESTDATA / "real"


def _pattern(w: int = 64, h: int = 40) -> np.ndarray:
    """An asymmetric RGB test pattern: every flip and rotation gives a different array."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, ((x + 2 * y) % 7) * 36], axis=-1).astype(np.uint8)


def _save_with_orientation(pixels: np.ndarray, path: Path, orientation: int, fmt: str = "PNG") -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, format=fmt, exif=exif.tobytes())


def test_webp_named_jpg_is_detected_by_content() -> None:
    info = probe(FACES / "img47.jpg")
    assert info.format == "WEBP"
    loaded = load_image(FACES / "img47.jpg")
    assert loaded.pixels.shape == (1800, 1350, 3) and loaded.pixels.dtype == np.uint8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_displayed_pixels(tmp_path: Path, orientation: int) -> None:
    stored = _pattern()
    path = tmp_path / f"o{orientation}.png"
    _save_with_orientation(stored, path, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    loaded = load_image(path)
    assert loaded.info.orientation == orientation
    assert (loaded.info.stored_width, loaded.info.stored_height) == (64, 40)
    assert (loaded.info.width, loaded.info.height) == (expected.shape[1], expected.shape[0])
    np.testing.assert_array_equal(loaded.pixels, expected)


def test_real_portrait_stored_rotated_displays_like_the_upright_one() -> None:
    upright = probe(REAL / "portrait.jpg")
    rotated = probe(REAL / "portrait-orientation-6.jpg")
    assert rotated.orientation == 6
    assert (rotated.stored_width, rotated.stored_height) == (upright.height, upright.width)
    assert (rotated.width, rotated.height) == (upright.width, upright.height)
    pixels = load_image(REAL / "portrait-orientation-6.jpg").pixels
    assert pixels.shape == (upright.height, upright.width, 3)


def test_heic_decodes() -> None:
    loaded = load_image(REAL / "IMG_2682.heic", max_side=1024)
    assert loaded.info.format == "HEIF"
    # decoded whole (HEIF has no reduced decode), then reduced by an integer factor, never below the request
    assert loaded.pixels.shape[2] == 3 and 1024 <= max(loaded.pixels.shape[:2]) < 2048
    assert loaded.scale == pytest.approx(loaded.pixels.shape[1] / loaded.info.width)
    assert loaded.pixels.std() > 10  # a real photo, not a blank buffer


def test_jpeg_draft_decodes_reduced_but_never_below_the_request(tmp_path: Path) -> None:
    big = np.asarray(Image.fromarray(_pattern()).resize((4000, 3000)))
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    loaded = load_image(tmp_path / "big.jpg", max_side=1024)
    assert 1024 <= max(loaded.pixels.shape[:2]) < 2048
    assert loaded.scale == pytest.approx(loaded.pixels.shape[1] / 4000)
    assert not loaded.is_full_resolution
    assert load_image(tmp_path / "big.jpg").is_full_resolution


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    rgb = np.full((32, 32, 3), (200, 40, 30), np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    px = load_image(tmp_path / "cmyk.jpg").pixels
    assert px.shape == (32, 32, 3)
    assert np.abs(px.astype(int).mean(axis=(0, 1)) - (200, 40, 30)).max() < 12


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_is_scaled_not_clipped(tmp_path: Path, fmt: str) -> None:
    ramp = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 257).astype(np.uint16)
    path = tmp_path / f"g16.{fmt.lower()}"
    Image.fromarray(ramp, mode="I;16").save(path, format=fmt)
    px = load_image(path).pixels
    assert px.shape == (16, 16, 3)
    np.testing.assert_allclose(px[..., 0].astype(int), (ramp // 257).astype(int), atol=1)


def test_alpha_and_palette_transparency_are_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, :] = (255, 0, 0, 255)  # opaque red top half, transparent bottom half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    px = load_image(tmp_path / "a.png").pixels
    assert tuple(px[0, 0]) == (255, 0, 0) and tuple(px[7, 7]) == (255, 255, 255)
    pal = Image.fromarray(rgba, "RGBA").convert("P")
    pal.info["transparency"] = pal.getpixel((7, 7))
    pal.save(tmp_path / "p.png", transparency=pal.getpixel((7, 7)))
    px = load_image(tmp_path / "p.png").pixels
    assert tuple(px[7, 7]) == (255, 255, 255)


def test_other_real_formats_decode() -> None:
    for name in ("denali.webp", "density_plot.png", "picasa.jpg", "wood_anemones.jpg"):
        loaded = load_image(REAL / name)
        assert loaded.pixels.ndim == 3 and loaded.pixels.shape[2] == 3, name


def test_pixel_limit_refuses_with_a_clear_message() -> None:
    with pytest.raises(ImageError, match="megapixels"):
        load_image(FACES / "couple.jpg", max_pixels=1_000_000)


def test_bad_files_raise_image_error(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    shutil.copy(FACES / "couple.jpg", tmp_path / "cut.jpg")
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    for name in ("notes.jpg", "cut.jpg", "missing.jpg"):
        with pytest.raises(ImageError) as exc:
            load_image(tmp_path / name)
        assert name in str(exc.value) or "not found" in str(exc.value)


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "LA", "1", "CMYK"])
def test_other_formats_are_reduced_before_conversion(tmp_path: Path, mode: str) -> None:
    """A big PNG/TIFF is reduced right after its decode (issue 14, item 4), in every pixel mode."""
    base = Image.fromarray(_pattern()).resize((3000, 2000))
    image = base.convert(mode) if mode != "I;16" else base.convert("L").point(lambda v: v * 256, "I").convert("I;16")
    path = tmp_path / ("big.tif" if mode == "CMYK" else "big.png")
    image.save(path)
    loaded = load_image(path, max_side=700)
    assert 700 <= max(loaded.pixels.shape[:2]) < 1400 and loaded.pixels.shape[2] == 3
    assert loaded.pixels.std() > 10  # the picture survived, not a blank or clipped buffer


ALLOC_CODE = r"""
import resource, sys
import numpy as np
from tagmyphotos.faces import images
if sys.argv[1] == "worker":
    images.reuse_freed_blocks()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    load = images.load_image(sys.argv[2], max_side=1024)  # a photo's buffers, as a worker has them
    buf = np.ones(8 << 20, dtype=np.uint8)
    del load, buf
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_an_analysis_worker_reuses_freed_pixel_buffers() -> None:
    """A worker process decodes photo after photo: its buffers come back from the heap instead of
    fresh mmaps that the kernel zeroes page by page (a fifth of the analysis CPU); the server
    keeps returning them (the default after import)."""

    def faults(mode: str) -> int:
        cmd = [sys.executable, "-c", ALLOC_CODE, mode, str(FACES / "img1.jpg")]
        return int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    server, worker = faults("server"), faults("worker")
    assert worker * 5 < server, (worker, server)


def test_big_images_become_the_same_array_strip_by_strip(tmp_path: Path) -> None:
    """Over images.PIXELS_STRIP_FROM pixels the array is filled strip by strip (no tobytes
    copy of the whole image): the same pixels as Pillow's own conversion, every row."""
    base = np.asarray(Image.open(FACES / "img1.jpg").convert("RGB").resize((2500, 1900)))
    Image.fromarray(base).save(tmp_path / "big.png")
    loaded = load_image(tmp_path / "big.png").pixels
    assert loaded.shape == (1900, 2500, 3) and loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, base)
