// Bounds the bytes of uploads in progress, per client (its clientKey: an IPv4 address or an IPv6 /64) and in total: they sit on the server's disk
// until their photos are stored. Past a bound the upload is refused before its next bytes are written,
// so slow or many uploads cannot fill the disk.
import { UploadQuotaExceeded, UploadsBusy } from './errors.js';

export interface UploadBudgetLimits {
  /** Bytes one client may have in progress at once. */
  perClientBytes: number;
  /** Bytes all uploads together may have in progress at once. */
  totalBytes: number;
}

/** The bytes one upload holds; all of them are given back at once when it ends. */
export interface UploadReservation {
  /** Takes `bytes` more, or throws UploadQuotaExceeded (this client) or UploadsBusy (the server). */
  take(bytes: number): void;
  releaseAll(): void;
}

export interface UploadBudget {
  reserveFor(client: string): UploadReservation;
  /** Bytes in progress now, in total: for tests and the log. */
  bytesInProgress(): number;
}

export function createUploadBudget({ perClientBytes, totalBytes }: UploadBudgetLimits): UploadBudget {
  const byClient = new Map<string, number>();
  let total = 0;

  return {
    reserveFor(client) {
      let held = 0;
      return {
        take(bytes) {
          const clientHeld = byClient.get(client) ?? 0;
          if (clientHeld + bytes > perClientBytes) throw new UploadQuotaExceeded(perClientBytes);
          if (total + bytes > totalBytes) throw new UploadsBusy();
          byClient.set(client, clientHeld + bytes);
          total += bytes;
          held += bytes;
        },
        releaseAll() {
          const remaining = (byClient.get(client) ?? 0) - held;
          if (remaining > 0) byClient.set(client, remaining);
          else byClient.delete(client);
          total -= held;
          held = 0;
        },
      };
    },
    bytesInProgress: () => total,
  };
}
