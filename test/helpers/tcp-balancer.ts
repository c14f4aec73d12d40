// The balancer lives in src (it is also `ai-dev balance`); tests keep importing it from here.
export { startTcpBalancer, type TcpBalancer, type TcpTarget } from '../../src/cli/tcp-balancer.js';
