export {
  startSimulator,
  formatStats,
  type RunningSimulator,
  type SimulatorOptions,
  type SimulatorStats,
  type ProtocolStats,
} from './simulator.ts';
export {
  buildCompounds,
  buildDevices,
  readCompoundCsv,
  registryDevice,
  type Compound,
  type SimDevice,
} from './catalog.ts';
export { openDeviceKit, type DeviceKit, type DeviceKitOptions } from './kit.ts';
export type {
  CardAccess,
  FaceAccess,
  FaceSighting,
  PatrolCheckIn,
  PerimeterTrigger,
  PlateCapture,
  SimEvent,
} from './events.ts';
export type { DeviceRuntime, ProtocolIo, Delivery } from './protocols/types.ts';
export { signRequest, newNonce, digestAuthorization } from './auth.ts';
export { DigestSession, type HttpResponse } from './transport.ts';
export { picture } from './jpeg.ts';
export { seededRandom, type Random } from './random.ts';
export {
  GENERIC_PREFIX,
  genericEvent,
  signedHeaders,
  sendGenericEvents,
  sendGenericHeartbeat,
} from './protocols/generic.ts';
export {
  ISAPI_PATH,
  accessControllerEvent,
  alertXml,
  perimeterAlert,
  isapiRequest,
  multipart,
  sendIsapiEvent,
  sendIsapiHeartbeat,
} from './protocols/isapi.ts';
export {
  KEEPALIVE_PATH,
  TOLLGATE_PATH,
  emptyRealmDigest,
  sendTollgate,
  sendKeepAlive,
  tollgateInfo,
} from './protocols/itsapi.ts';
export {
  faceListBody,
  personListBody,
  pushSighting,
  register as registerGat1400,
  keepalive as gat1400Keepalive,
} from './protocols/gat1400.ts';
export {
  startIsapiDevice,
  type IsapiDevice,
  type IsapiDeviceOptions,
  type IsapiDeviceState,
} from './protocols/isapi-device.ts';
