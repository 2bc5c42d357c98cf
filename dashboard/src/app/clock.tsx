// The current time, provided to the app rather than read where it is used, so tests
// (and anything else) can fix it.
import { createContext, useContext } from 'react';

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export const ClockContext = createContext<Clock>(systemClock);

export function useClock(): Clock {
  return useContext(ClockContext);
}
