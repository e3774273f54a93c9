/* libFuzzer target: PI30 replies through the framer, the frame check and every decoder. */
#include "protocol.h"
#include "stream.h"

static void decode_payload(const char *payload, size_t len)
{
    static struct voltronic_qpigs qpigs;
    static struct voltronic_qpiri qpiri;
    static struct voltronic_qdi qdi;
    static struct voltronic_qpgs qpgs;
    static struct voltronic_qflag qflag;
    static struct voltronic_tokens tokens;
    char letter, id[64];
    uint64_t bits;
    unsigned count;
    voltronic_tokenize(payload, len, &tokens);
    voltronic_qpigs_decode(payload, len, &qpigs);
    voltronic_qpiri_decode(payload, len, &qpiri);
    voltronic_qdi_decode(payload, len, &qdi);
    voltronic_qpgs_decode(payload, len, &qpgs);
    voltronic_qflag_decode(payload, len, &qflag);
    if (voltronic_qmod_decode(payload, len, &letter) == 0)
        voltronic_mode_value(letter);
    voltronic_qpiws_decode(payload, len, &bits, &count);
    voltronic_id_decode(payload, len, id, sizeof(id));
    voltronic_qsid_decode(payload, len, id, sizeof(id));
}

static void on_frame(const uint8_t *frame, size_t len)
{
    static const uint8_t qpigs[] = "QPIGS\xb7\xa9\r";
    const struct voltronic_request req = {qpigs, sizeof(qpigs) - 1};
    const char *payload;
    size_t payload_len;
    if (voltronic_frame_check(frame, len, &req, &payload, &payload_len) == 0)
        decode_payload(payload, payload_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    static const uint8_t qpigs[] = "QPIGS\xb7\xa9\r";
    const struct voltronic_request req = {qpigs, sizeof(qpigs) - 1};
    fuzz_stream(input, size, voltronic_frame_find, &req, on_frame);
    decode_payload((const char *)input, size);
    return 0;
}
