// The platform's payment and seat flows for k6, gated client-side by the thresholds that
// `slo-compiler loadtest thresholds --tool k6 --slos loadtest/slos --out
// loadtest/slo_thresholds.js` writes, and server-side by `slo-compiler loadtest run`:
//
//   k6 run --no-usage-report -e BASE_URL=http://127.0.0.1:8080 loadtest/load.js
//
// Each request carries the `name` tag its SLO's threshold is keyed on, and the expected
// statuses that make k6's failed requests that SLO's bad ones (a 409 on a seat is bad for
// the seat SLO; a 4xx on a payment is not bad for the payment SLO).
import http from 'k6/http';
import { sleep } from 'k6';
import { expected, thresholds } from './slo_thresholds.js';

export const options = {
  vus: Number(__ENV.VUS || 5),
  duration: __ENV.DURATION || '30s',
  thresholds,
};

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const SEATS = Number(__ENV.SEATS || 20);
const JSON_BODY = { headers: { 'Content-Type': 'application/json' } };

function post(path, body, name) {
  return http.post(`${BASE}${path}`, JSON.stringify(body), {
    ...JSON_BODY,
    tags: { name },
    responseCallback: expected(name),
  });
}

export default function () {
  post('/api/seats/reserve', { seat: Math.floor(Math.random() * SEATS) }, 'seat reserve');
  post('/api/payments/process', {}, 'payment process');
  post('/api/payments/confirm', {}, 'payment confirm');
  sleep(0.01 + Math.random() * 0.04); // as the locustfile's buyers wait
}
