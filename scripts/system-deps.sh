#!/bin/sh
# Debian packages the pipeline and its tests use: Pango and HarfBuzz-Subset
# for WeasyPrint, Ghostscript to preflight press PDFs, qpdf to check PDF
# structure; with --test, Chromium, Apache PDFBox, the TR 006 data and CUPS with
# cups-pdf. Installs only what is missing, so it is quick on a ready machine.
set -eu
missing=""
command -v qpdf >/dev/null 2>&1 || missing="$missing qpdf"
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing="$missing libpango-1.0-0 libpangoft2-1.0-0"
# Ghostscript separates press PDFs into plates for the preflight (ink limit, marks).
command -v gs >/dev/null 2>&1 || missing="$missing ghostscript"
# WeasyPrint subsets fonts with HarfBuzz when it can (fontTools otherwise).
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so' || missing="$missing libharfbuzz-subset0"
# Noto fonts for patient names in any script on discharge sheets (styles/name-fonts.css).
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || missing="$missing fonts-noto-core"
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$missing fonts-noto-cjk"
# With --test: Chromium, to load the proof gallery and the discharge desk as a
# browser would, and to run axe-core on the web edition.
if [ "${1:-}" = "--test" ]; then
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    # npm installs axe-core (package-lock.json) for the discharge desk's and the web edition's page tests.
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    # Apache PDFBox's preflight for press PDFs. Debian's libpdfbox2-java does not pull in
    # the javax.activation and JAXB jars its preflight needs on current Java, nor Java.
    command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
    [ -f /usr/share/java/preflight.jar ] || missing="$missing libpdfbox2-java"
    [ -f /usr/share/java/javax.activation.jar ] || missing="$missing libactivation-java"
    [ -f /usr/share/java/jaxb-api.jar ] || missing="$missing libjaxb-api-java"
    # The CGATS TR 006 characterization data the press profile was made from, which
    # tests/test_press_profile.py compares with the numbers in clinicprint/gwg.py.
    [ -f /usr/share/color/icc/TR006.ti3 ] || missing="$missing icc-profiles-free"
    # The desk prints through CUPS (lp, from cups-client): the tests start a private
    # cupsd with a cups-pdf queue (tests/wardservices.py).
    command -v cupsd >/dev/null 2>&1 || [ -x /usr/sbin/cupsd ] || missing="$missing cups"
    [ -f /usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd ] || missing="$missing printer-driver-cups-pdf"
    # pdftocairo and pdftoppm (poppler-utils): the ward's print route as a PostScript
    # round trip (tests/test_stamp.py) and pictures of pages.
    command -v pdftocairo >/dev/null 2>&1 || missing="$missing poppler-utils"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "Please install these Debian packages first:$missing" >&2
    exit 1
fi
echo "Installing Debian packages:$missing"
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
