#!/bin/sh
# Rebuilds clinicprint/icc/GRACoL2006-TR006-300.icc, the press PDFs' output intent,
# from the ANSI CGATS/GRACoL TR 006-2007 characterization data in Debian's
# icc-profiles-free (Zlib; CGATS permits profiles made from it) with ArgyllCMS
# (Debian's argyll). The committed profile is what builds use: rebuilding gives a
# new header date and so new PDF bytes. Total ink limited to 300 %, black to 100 %.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp /usr/share/color/icc/TR006.ti3 "$work/"
(cd "$work" && colprof -qm -kr -l300 -L100 \
    -D "GRACoL2006 Coated1 (CGATS TR 006), ink limit 300%, made with ArgyllCMS" \
    -C "Made from the ANSI CGATS/GRACoL TR 006-2007 characterization data (Debian icc-profiles-free, Zlib); no rights reserved on the profile" \
    -O GRACoL2006-TR006-300.icc TR006 >/dev/null)
cp "$work/GRACoL2006-TR006-300.icc" "$(dirname "$0")/../clinicprint/icc/"
