// An SMSC for the test suite: the `smpp` package's server side, scripted over stdin/stdout.
//
//   node tests/peers/smsc.js '{"system_id": "esme", "password": "secret"}'
//
// Control channel: one JSON object a line.
//   in  (stdin):  {"cmd": "set", ...behaviour} | {"cmd": "receipt", ...} | {"cmd": "mo", ...}
//                 {"cmd": "drop"} | {"cmd": "unbind"} | {"cmd": "enquire_link"} | {"cmd": "stats"}
//   out (stdout): {"event": "listening", "port": N} first, then bind, submit, enquire_link,
//                 unbind, close, deliver_resp, enquire_link_resp, stats, error events.
// Every submit_sm the SMSC took (answered ESME_ROK, or taken and then dropped or left
// unanswered) is counted, keyed by destination and content, so a test can prove that
// nothing was submitted twice.
'use strict';

const smpp = require('smpp');
const readline = require('readline');

const options = JSON.parse(process.argv[2] || '{}');
const credentials = {
  system_id: options.system_id || 'esme',
  password: options.password || 'secret',
};
const behaviour = {
  latency_ms: 0,
  throttle_next: 0,
  error_next: 0,
  error_status: 'ESME_RINVDSTADR',
  drop_after_next: 0,
  ignore_next: 0,
  receipts: 'none', // 'auto': a receipt for every part taken, after receipt_delay_ms
  receipt_delay_ms: 50,
  receipt_style: 'both', // 'text', 'tlv' or 'both'
  receipt_stat: 'DELIVRD',
  id_prefix: 'smsc-',
};

const sessions = [];
const taken = new Map(); // key -> times taken
let accepted = 0;
let refused = 0;
let nextId = 1;
let deliverRef = 0;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function sessionIndex(session) {
  return sessions.indexOf(session);
}

function describe(pdu) {
  const sm = pdu.short_message || {};
  const udh = Array.isArray(sm.udh) ? Buffer.concat(sm.udh).toString('hex') : '';
  const text = typeof sm.message === 'string' ? sm.message : Buffer.from(sm.message || []).toString('hex');
  return {
    source: pdu.source_addr,
    source_ton: pdu.source_addr_ton,
    destination: pdu.destination_addr,
    dest_ton: pdu.dest_addr_ton,
    data_coding: pdu.data_coding,
    esm_class: pdu.esm_class,
    registered_delivery: pdu.registered_delivery,
    udh: udh,
    text: text,
  };
}

function statusCode(name) {
  return typeof name === 'number' ? name : smpp.errors[name];
}

function receiptText(id, stat, err, textBytes) {
  const now = new Date();
  const stamp = [now.getUTCFullYear() % 100, now.getUTCMonth() + 1, now.getUTCDate(), now.getUTCHours(), now.getUTCMinutes()]
    .map((n) => String(n).padStart(2, '0'))
    .join('');
  const head = `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${stamp} done date:${stamp} stat:${stat} err:${err} text:`;
  return Buffer.concat([Buffer.from(head, 'latin1'), textBytes]);
}

const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function deliver(session, fields, tag) {
  if (!session || !session.socket.writable) {
    emit({ event: 'error', error: 'no bound session to deliver to', tag: tag });
    return;
  }
  const ref = ++deliverRef;
  session.deliver_sm(fields, (resp) => {
    emit({ event: 'deliver_resp', tag: tag, ref: ref, status: resp.command_status, session: sessionIndex(session) });
  });
}

function sendReceipt(command) {
  const session = sessions[command.session || 0] || sessions.find((s) => s.bound);
  const stat = command.stat || behaviour.receipt_stat;
  const style = command.style || behaviour.receipt_style;
  const fields = {
    source_addr: command.source || '8613800000000',
    destination_addr: command.destination || '95588',
    esm_class: 0x04,
  };
  if (style !== 'tlv') {
    const textBytes = Buffer.from(command.text_hex || '', 'hex');
    fields.short_message = receiptText(command.text_id || command.message_id, stat, command.err || '000', textBytes);
  }
  if (style !== 'text') {
    fields.receipted_message_id = command.message_id;
    fields.message_state = STATES[stat] || 7;
  }
  for (let i = 0; i < (command.times || 1); i++) {
    deliver(session, fields, command.tag || command.message_id);
  }
}

function sendMo(command) {
  // parts: [{text, seq}], each delivered in the order given (a test may repeat or reorder).
  const session = sessions[command.session || 0] || sessions.find((s) => s.bound);
  const coding = command.coding === 'gsm' ? 0x00 : 0x08;
  const total = command.total || (command.parts || []).length || 1;
  for (const part of command.parts || [{ text: command.text, seq: 1 }]) {
    const fields = {
      source_addr: command.from,
      destination_addr: command.to || '95588',
      data_coding: coding,
      esm_class: 0,
    };
    if (total > 1 && command.via === 'sar') {
      fields.short_message = { message: part.text };
      fields.sar_msg_ref_num = command.ref;
      fields.sar_total_segments = total;
      fields.sar_segment_seqnum = part.seq;
    } else if (total > 1) {
      fields.short_message = { udh: Buffer.from([5, 0, 3, command.ref & 0xff, total, part.seq]), message: part.text };
    } else {
      fields.short_message = { message: part.text };
    }
    deliver(session, fields, `${command.tag || 'mo'}:${part.seq}`);
  }
}

function answerSubmit(session, pdu) {
  const info = describe(pdu);
  const key = `${info.destination}|${info.udh}|${info.text}`;
  const take = (outcome) => {
    taken.set(key, (taken.get(key) || 0) + 1);
    accepted += 1;
    const messageId = `${behaviour.id_prefix}${nextId++}`;
    emit(Object.assign({ event: 'submit', outcome: outcome, message_id: messageId, sequence: pdu.sequence_number, session: sessionIndex(session), times: taken.get(key) }, info));
    return messageId;
  };
  if (behaviour.throttle_next > 0) {
    behaviour.throttle_next -= 1;
    refused += 1;
    emit(Object.assign({ event: 'submit', outcome: 'throttled', sequence: pdu.sequence_number, session: sessionIndex(session) }, info));
    return session.send(pdu.response({ command_status: smpp.errors.ESME_RTHROTTLED }));
  }
  if (behaviour.error_next > 0) {
    behaviour.error_next -= 1;
    refused += 1;
    emit(Object.assign({ event: 'submit', outcome: 'error', status: behaviour.error_status, sequence: pdu.sequence_number, session: sessionIndex(session) }, info));
    return session.send(pdu.response({ command_status: statusCode(behaviour.error_status) }));
  }
  if (behaviour.drop_after_next > 0) {
    behaviour.drop_after_next -= 1;
    if (behaviour.drop_after_next === 0) {
      take('dropped');
      return session.destroy();
    }
  }
  if (behaviour.ignore_next > 0) {
    behaviour.ignore_next -= 1;
    take('ignored');
    return;
  }
  const messageId = take('accepted');
  const respond = () => {
    session.send(pdu.response({ message_id: messageId }));
    if (behaviour.receipts === 'auto' && pdu.registered_delivery) {
      setTimeout(() => sendReceipt({ message_id: messageId, destination: info.source, source: info.destination, session: sessionIndex(session) }), behaviour.receipt_delay_ms);
    }
  };
  if (behaviour.latency_ms > 0) {
    setTimeout(respond, behaviour.latency_ms);
  } else {
    respond();
  }
}

const server = smpp.createServer((session) => {
  sessions.push(session);
  session.bound = false;
  session.on('bind_transceiver', (pdu) => {
    const ok = pdu.system_id === credentials.system_id && pdu.password === credentials.password;
    emit({ event: 'bind', ok: ok, system_id: pdu.system_id, system_type: pdu.system_type, session: sessionIndex(session) });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.errors.ESME_RBINDFAIL }));
      return session.close();
    }
    session.bound = true;
    session.send(pdu.response({ system_id: 'npm-smsc' }));
  });
  session.on('submit_sm', (pdu) => answerSubmit(session, pdu));
  session.on('enquire_link', (pdu) => {
    emit({ event: 'enquire_link', session: sessionIndex(session) });
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    emit({ event: 'unbind', session: sessionIndex(session) });
    session.send(pdu.response());
    session.close();
  });
  session.on('close', () => {
    session.bound = false;
    emit({ event: 'close', session: sessionIndex(session) });
  });
  session.on('error', (error) => emit({ event: 'error', error: String(error), session: sessionIndex(session) }));
});

server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    return emit({ event: 'error', error: `bad control line: ${line}` });
  }
  switch (command.cmd) {
    case 'set':
      for (const key of Object.keys(command)) if (key !== 'cmd') behaviour[key] = command[key];
      return emit({ event: 'set', behaviour: behaviour });
    case 'receipt':
      return sendReceipt(command);
    case 'mo':
      return sendMo(command);
    case 'drop':
      sessions.forEach((session) => session.destroy());
      return emit({ event: 'dropped' });
    case 'unbind':
      sessions.filter((s) => s.bound).forEach((session) => session.unbind());
      return emit({ event: 'unbinding' });
    case 'enquire_link':
      sessions.filter((s) => s.bound).forEach((session) =>
        session.enquire_link({}, () => emit({ event: 'enquire_link_resp', session: sessionIndex(session) })));
      return;
    case 'stats':
      return emit({
        event: 'stats',
        accepted: accepted,
        refused: refused,
        unique: taken.size,
        duplicates: [...taken.values()].reduce((sum, n) => sum + (n > 1 ? n - 1 : 0), 0),
        bound: sessions.filter((s) => s.bound).length,
      });
    case 'stop':
      emit({ event: 'stopping' });
      return process.exit(0);
    default:
      return emit({ event: 'error', error: `unknown command ${command.cmd}` });
  }
});
process.stdin.on('end', () => process.exit(0));
