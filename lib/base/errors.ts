/**
 * The error every layer raises for a file that is missing, unreadable or malformed (a reader in
 * `io`, a config parsed by a model family, a tokenizer's files): it names the file first.
 */

/**
 * Thrown when a file is missing, unreadable or malformed. `file` is the path as given;
 * the message starts with it and says what is wrong.
 */
export class FileFormatError extends Error {
  override readonly name: string = 'FileFormatError';

  /**
   * @param file the path of the offending file.
   * @param problem what is wrong with it, as a sentence fragment.
   */
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}
