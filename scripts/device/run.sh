#!/usr/bin/env bash
# Runs on the NVIDIA device machine: unpack ocl-icd + clinfo, point the ICD loader at NVIDIA.
set -u
D=$(cd "$(dirname "$0")" && pwd)
mkdir -p $D/root $D/vendors
for f in $D/*.deb; do dpkg -x $f $D/root; done
echo libnvidia-opencl.so.1 > $D/vendors/nvidia.icd
export OCL_ICD_VENDORS=$D/vendors
export LD_LIBRARY_PATH=$D/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PATH=$D/root/usr/bin:$PATH
"$@"
