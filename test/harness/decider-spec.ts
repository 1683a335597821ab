import { fold, type Decider } from "../../domain/decider.ts";
import { DomainError, type ErrorKind } from "../../domain/errors.ts";
import { canonicalJson } from "../../domain/hash-chain.ts";

// given/when/then for deciders (emmett's DeciderSpecification, minus the test-runner import: domain/
// imports nothing outside itself, so failures are plain Errors that any runner reports).
// Events compare by canonical JSON: key order and undefined fields do not matter, array order does.

const show = (value: unknown) => JSON.stringify(value, null, 2);

export interface Then<E> {
  /** asserts the decision equals `expected` and returns it */
  then(expected: E[]): E[];
  /** asserts the decision satisfies `check` (a function that throws on failure) and returns it */
  thenMatches(check: (events: E[]) => void): E[];
  /** asserts the command is refused with a DomainError of this code (and kind) and returns it */
  thenThrows(code: string, kind?: ErrorKind): DomainError;
}

export function deciderSpec<C, E, S>(decider: Decider<C, E, S>, stream: string) {
  return {
    given(events: E[] = []) {
      return {
        when(command: C): Then<E> {
          // a fresh fold per assertion: evolve mutates the state it is given
          const decide = () => decider.decide(command, fold(decider, stream, events));
          return {
            then(expected) {
              const actual = decide();
              if (canonicalJson(actual) !== canonicalJson(expected)) {
                throw new Error(`unexpected decision\nexpected: ${show(expected)}\nactual:   ${show(actual)}`);
              }
              return actual;
            },
            thenMatches(check) {
              const actual = decide();
              check(actual);
              return actual;
            },
            thenThrows(code, kind) {
              let events: E[];
              try {
                events = decide();
              } catch (error) {
                if (!(error instanceof DomainError)) throw error;
                if (error.code !== code || (kind !== undefined && error.kind !== kind)) {
                  throw new Error(`expected ${kind ?? "any kind"}/${code}, got ${error.kind}/${error.code}: ${error.message}`);
                }
                return error;
              }
              throw new Error(`expected ${code}, but the command was accepted with ${show(events)}`);
            },
          };
        },
      };
    },
  };
}
