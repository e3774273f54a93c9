#!/usr/bin/env bash
. "$(dirname "$0")/lib.sh"
check placeholder true
done_testing
