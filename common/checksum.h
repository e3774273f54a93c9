/* Checksums shared by the drivers. Pure functions over a byte buffer. */
#ifndef SOLAR_CHECKSUM_H
#define SOLAR_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Two's complement of the 16-bit sum of the bytes: (0x10000 - sum) & 0xFFFF.
 * JBD frames sum their status/length/data bytes; Pylontech sums the ASCII characters. */
uint16_t solar_sum16_negated(const uint8_t *data, size_t len);

/* CRC-16/XMODEM (poly 0x1021, init 0, not reflected): Voltronic PI30. */
uint16_t solar_crc16_xmodem(const uint8_t *data, size_t len);

/* CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF): Modbus RTU, the LuxPower dongle. */
uint16_t solar_crc16_modbus(const uint8_t *data, size_t len);

#endif
